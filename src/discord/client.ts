/** The discord.js client, pointed at `DISCORD_API_URL`, with our own retry policy in charge. */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { Client, DefaultRestOptions, GatewayIntentBits, REST, type RESTOptions } from 'discord.js';
import { Headers, request } from 'undici';
import type { Config } from '../config.js';
import { GatewayClosedError, RequestTimeoutError } from '../errors.js';
import { MultipartBody } from './multipart.js';
import { TimeLimit } from './time-limit.js';

type RestConfig = Pick<Config, 'DISCORD_API_URL' | 'UPLOAD_TIMEOUT_MS'>;

/**
 * Gateway close codes Discord documents as not to reconnect after, and what an operator should
 * make of them. discord.js stops its shard on each (emitting `shardDisconnect`) and, during
 * login, rejects `login()`; nothing else tells the process.
 */
const FATAL_GATEWAY_CLOSE_CODES: ReadonlyMap<number, string> = new Map([
  [4004, 'authentication failed: the token is invalid or was reset; put the current one in DISCORD_TOKEN'],
  [4010, 'invalid shard: the shard id or count sent when identifying is not valid'],
  [4011, 'sharding required: the bot is in too many guilds for one connection; run it sharded (npm run start:sharded)'],
  [4012, 'invalid API version: Discord no longer accepts the gateway version this discord.js asks for; update it'],
  [4013, 'invalid intents: the bot asked for an intent that does not exist'],
  [4014, 'disallowed intents: the bot asked for an intent not enabled or approved for it in the Developer Portal'],
]);

/** The error for a gateway close code that is fatal, null for one discord.js recovers from. */
export function fatalGatewayClose(code: number): GatewayClosedError | null {
  const meaning = FATAL_GATEWAY_CLOSE_CODES.get(code);
  return meaning === undefined ? null : new GatewayClosedError(code, meaning);
}

export function restOptions(config: RestConfig): Partial<RESTOptions> {
  // Every retry of an upload is ours (backoff, counted in chunk_attempts); discord.js
  // would otherwise re-send 5xx and timeouts at once. 429 waits stay with discord.js.
  const timeoutMs = config.UPLOAD_TIMEOUT_MS;
  return { api: config.DISCORD_API_URL, timeout: timeoutMs, retries: 0, makeRequest: (url, init) => makeRequest(url, init, timeoutMs) };
}

type ResponseLike = Awaited<ReturnType<RESTOptions['makeRequest']>>;

const BUCKET_HEADERS = new Set(['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-ratelimit-bucket']);

/**
 * discord.js's own request strategy, except for a MultipartBody (a message with attachments,
 * see multipart.ts), which its strategy would read whole into memory: that one is handed to
 * undici as an async iterable, so it streams, and answered in the shape discord.js expects.
 */
async function makeRequest(url: string, init: Parameters<RESTOptions['makeRequest']>[1], timeoutMs: number): Promise<ResponseLike> {
  const body = init.body as unknown;
  const upload = body instanceof MultipartBody ? body : null;
  const control = requestControl(upload, init.signal, timeoutMs);
  let answer: ResponseLike;
  try {
    answer = upload
      ? await uploadRequest(url, init, upload, control.signal)
      : await DefaultRestOptions.makeRequest(url, { ...init, signal: control.signal });
  } catch (error) {
    control.done();
    throw error;
  }
  // discord.js reads the answer's body after this returns: the time limit and the caller's
  // signal cover that too (an answer that stops half-way would otherwise hang it for good).
  const stream = answer.body as Partial<Readable> | null;
  if (typeof stream?.once === 'function') stream.once('end', control.done).once('close', control.done);
  else control.done();
  return answer;
}

/** A message with attachments, its body streamed (see above). */
async function uploadRequest(
  url: string,
  init: Parameters<RESTOptions['makeRequest']>[1],
  body: MultipartBody,
  signal: AbortSignal,
): Promise<ResponseLike> {
  const res = await request(url, {
    method: 'POST',
    headers: { ...(init.headers as Record<string, string>), 'content-type': body.contentType, 'content-length': String(body.length) },
    // undici streams any async iterable chunk by chunk (its docs list Iterable and
    // AsyncIterable bodies; its type lists only streams). Not Readable.from(body): that
    // would read ahead into its own buffer, and multipart.ts relies on no read-ahead.
    body: body as unknown as Readable,
    signal,
    ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
  });
  const header = (name: string) => {
    const value = res.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  body.hooks.answered?.(res.statusCode, header);
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    // The sink keeps the channel's bucket for uploads itself (bucket.ts), across REST clients:
    // discord.js would otherwise hold the next body back at its start on one client's count.
    // A 429 keeps them, so discord.js waits it out as before.
    if (res.statusCode !== 429 && BUCKET_HEADERS.has(name)) continue;
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
  }
  return {
    body: res.body,
    arrayBuffer: () => res.body.arrayBuffer(),
    json: () => res.body.json(),
    text: () => res.body.text(),
    get bodyUsed() {
      return res.body.bodyUsed;
    },
    headers,
    status: res.statusCode,
    statusText: STATUS_CODES[res.statusCode] ?? '',
    ok: res.statusCode >= 200 && res.statusCode < 300,
  };
}

/**
 * What a request runs under: the caller's signal and a time limit of UPLOAD_TIMEOUT_MS until
 * its answer has been read. discord.js's own signal (init.signal) carries its timeout, which
 * ends at the answer's headers and would count the time the sink holds a message's body back
 * before its end (pipeline.ts, bucket.ts): a message held while Discord slowly creates the
 * one before would time out, and be sent again, for no fault of its own. So an upload
 * follows its body's own signal (the transfer's), and its time limit stops while it is held.
 * `done` once the answer is read (harmless a second time).
 */
function requestControl(upload: MultipartBody | null, fallback: AbortSignal | null | undefined, timeoutMs: number) {
  const stop = new AbortController();
  const caller = upload?.hooks.signal ?? fallback ?? undefined;
  const follow = () => stop.abort(caller?.reason);
  const limit = new TimeLimit(timeoutMs, () => stop.abort(new RequestTimeoutError(timedOut(upload, timeoutMs))));
  const onHold = (holding: boolean) => (holding ? limit.pause() : limit.resume());
  if (upload) upload.onHold = onHold;
  if (caller?.aborted) follow();
  else caller?.addEventListener('abort', follow, { once: true });
  const done = () => {
    limit.clear();
    // A 429 makes discord.js send the body again, maybe before this answer's stream has closed.
    if (upload?.onHold === onHold) upload.onHold = undefined;
    caller?.removeEventListener('abort', follow);
  };
  return { signal: stop.signal, done };
}

/**
 * What a timeout says. For an upload, its size and how much of it was written to the socket
 * (not how much has arrived: the kernel's buffers hold megabytes), and what to change when
 * the uplink is too slow for the limit.
 */
function timedOut(upload: MultipartBody | null, timeoutMs: number): string {
  const limit = `UPLOAD_TIMEOUT_MS (${timeoutMs} ms)`;
  if (!upload) return `Discord did not answer within ${limit}`;
  const mb = (n: number) => (n / 1_000_000).toFixed(1);
  return (
    `no answer within ${limit} to a ${mb(upload.length)} MB upload (${mb(upload.handedOver)} MB of it written out); ` +
    'a slow uplink needs a higher UPLOAD_TIMEOUT_MS or smaller parts (chunk_size, MAX_CHUNKS_PER_MESSAGE)'
  );
}

export function createClient(config: RestConfig): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: restOptions(config),
    enforceNonce: true,
  });
}

/**
 * Extra REST clients for uploads. discord.js sends the requests of one rate-limit bucket
 * strictly one after another (one queue per channel's message-create bucket), so with one
 * client a second message could not be on the wire: one more client per message a run may
 * have open, MAX_PARALLEL_UPLOADS with Discord plus the one streaming meanwhile
 * (src/transfer/pipeline.ts). Each still waits out every 429 it meets.
 */
export function createUploadClients(config: RestConfig & Pick<Config, 'MAX_PARALLEL_UPLOADS'>, token: string): REST[] {
  return Array.from({ length: config.MAX_PARALLEL_UPLOADS }, () => new REST(restOptions(config)).setToken(token));
}

/** The discord.js client, pointed at `DISCORD_API_URL`, with our own retry policy in charge. */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { Client, DefaultRestOptions, GatewayIntentBits, REST, type RESTOptions } from 'discord.js';
import { Headers, request, type Dispatcher } from 'undici';
import type { Config } from '../config.js';
import { GatewayClosedError } from '../errors.js';
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
  if (!(body instanceof MultipartBody)) return DefaultRestOptions.makeRequest(url, init);
  // discord.js's signal (init.signal) carries its own timeout, which would count the time the
  // sink holds the body back before its end (pipeline.ts, bucket.ts) as the request's: a
  // message held while Discord slowly creates the one before would time out, and be sent
  // again, for no fault of its own. So the body's own signal stops it, and its time limit
  // does not count the holding.
  const stop = new AbortController();
  const caller = body.hooks.signal ?? init.signal ?? undefined;
  const follow = () => stop.abort(caller?.reason);
  const limit = new TimeLimit(timeoutMs, () => stop.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')));
  body.onHold = (holding) => (holding ? limit.pause() : limit.resume());
  if (caller?.aborted) follow();
  else caller?.addEventListener('abort', follow, { once: true });
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'POST',
      headers: { ...(init.headers as Record<string, string>), 'content-type': body.contentType, 'content-length': String(body.length) },
      // undici streams any async iterable chunk by chunk (its docs list Iterable and
      // AsyncIterable bodies; its type lists only streams). Not Readable.from(body): that
      // would read ahead into its own buffer, and multipart.ts relies on no read-ahead.
      body: body as unknown as Readable,
      signal: stop.signal,
      ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
    });
  } finally {
    limit.clear();
    body.onHold = undefined;
    caller?.removeEventListener('abort', follow);
  }
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
export function createUploadLanes(config: RestConfig & Pick<Config, 'MAX_PARALLEL_UPLOADS'>, token: string): REST[] {
  return Array.from({ length: config.MAX_PARALLEL_UPLOADS }, () => new REST(restOptions(config)).setToken(token));
}

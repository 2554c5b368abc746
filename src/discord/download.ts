/**
 * Downloads a posted transfer back from Discord: the manifest message, then every part by its
 * message id. Attachment links expire (DISCORD_NOTES "Attachment links"), so a link is only
 * ever taken from a message fetched during this run, and a refused link means: fetch the
 * message again and retry.
 */
import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import { DiscordAPIError, Routes, type APIMessage, type REST } from 'discord.js';
import { request } from 'undici';
import { classifyRestError, describeNetworkError } from './classify.js';
import type { ManifestChunk } from '../transfer/manifest.js';
import { DownloadError, messageOf, RetryFailure } from '../errors.js';
import type { Random } from '../time/backoff.js';
import { isAbortError, type Sleep } from '../time/sleep.js';
import { retry } from '../transfer/retry.js';
import { StagedPart } from './staged-part.js';

export interface DownloaderOptions {
  rest: REST;
  /** Retries after the first attempt, per part. */
  retryLimit: number;
  backoffBaseMs: number;
  signal: AbortSignal;
  /** A download that receives nothing for this long is cut and retried. */
  stallTimeoutMs?: number | undefined;
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  /** Called before each retry wait; the CLI stays quiet, tests may count. */
  onRetry?: ((what: string, reason: string, attempt: number) => void) | undefined;
  /** Where a part waits, in a temp file, until it is checked (default: the OS temp folder). */
  stagingDir?: string | undefined;
}

const STALL_TIMEOUT_MS = 30_000; // ms without a byte before a download is cut
/** A manifest is read into memory; 100 GiB in 8 MB parts makes about 4 MB of JSON. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024; // bytes

export class DiscordDownloader {
  readonly #options: DownloaderOptions;
  /** One fetch per message id: several parts share a message. Replaced when a link fails. */
  readonly #messages = new Map<string, Promise<APIMessage>>();

  constructor(options: DownloaderOptions) {
    this.#options = options;
  }

  /** The manifest attached to `messageId`, downloaded and returned as unparsed JSON text. */
  async manifestText(channelId: string, messageId: string): Promise<string> {
    return this.#withRetry('the manifest', async (attempt) => {
      const message = await this.#message(channelId, messageId, attempt > 1, () => `the manifest message ${messageId} in channel ${channelId}`);
      const attachment = message.attachments.find((a) => a.filename.endsWith('.manifest.json'));
      if (!attachment) {
        const names = message.attachments.map((a) => a.filename).join(', ') || 'none';
        throw new DownloadError(`message ${messageId} has no .manifest.json attachment (attachments: ${names})`, false);
      }
      if (attachment.size > MAX_MANIFEST_BYTES) {
        throw new DownloadError(
          `the manifest ${attachment.filename} is ${attachment.size} bytes, more than a manifest can be (${MAX_MANIFEST_BYTES})`,
          false,
        );
      }
      const pieces: Uint8Array[] = [];
      const received = await this.#fetchBody(attachment.url, attachment.size, (data) => {
        pieces.push(data);
        return Promise.resolve();
      });
      if (received !== attachment.size) throw new DownloadError(`the manifest arrived with ${received} of ${attachment.size} bytes`, true);
      return Buffer.concat(pieces).toString('utf8');
    });
  }

  /**
   * Streams one part to `output`, in order, after checking its size and sha256: no byte goes
   * out before the whole part matched (it waits in a temp file meanwhile, staged-part.ts), so
   * what `output` gets is checked, whatever breaks later. `whole` is the file hash so far
   * (null: none is kept); the returned hash has this part added.
   */
  async part<H extends Hash | null>(
    channelId: string,
    chunk: ManifestChunk,
    output: (data: Uint8Array) => Promise<void>,
    whole: H,
    onBytes: (partBytes: number) => void = () => undefined,
  ): Promise<H> {
    const staged = await this.checkedPart(channelId, chunk, onBytes);
    try {
      const fileHash = (whole?.copy() ?? null) as H;
      for await (const data of staged.read()) {
        // The output's own failure (a full disk, a closed pipe) is not the network's: no retry.
        await output(data).catch((err: unknown) => {
          throw new DownloadError(messageOf(err), false, { cause: err });
        });
        fileHash?.update(data);
      }
      return fileHash;
    } finally {
      await staged.close();
    }
  }

  /**
   * Downloads one part whole into a temp file and checks its size and sha256 there; the
   * caller reads it back and must close it. A retry downloads the part again from its first
   * byte, through a link from the message fetched again. The message is looked for in the
   * chunk's own channel, else in `channelId` (see partChannel).
   */
  async checkedPart(channelId: string, chunk: ManifestChunk, onBytes: (partBytes: number) => void = () => undefined): Promise<StagedPart> {
    channelId = partChannel(channelId, chunk);
    const messageId = chunk.message_id;
    if (!messageId) throw new DownloadError(`part ${chunk.name}: the manifest has no message id for it (was it written by the local split?)`, false);
    const staged = await StagedPart.create(this.#options.stagingDir).catch((err: unknown) => {
      throw stagingFailure(chunk, err);
    });
    try {
      await this.#withRetry(`part ${chunk.name}`, async (attempt) => {
        const message = await this.#message(channelId, messageId, attempt > 1, () => `part ${chunk.name}: its message ${messageId}`);
        const attachment =
          message.attachments.find((a) => chunk.attachment_id != null && a.id === chunk.attachment_id) ??
          message.attachments.find((a) => a.filename === chunk.name);
        if (!attachment) throw new DownloadError(`part ${chunk.name}: message ${messageId} no longer has its attachment`, false);
        if (attachment.size !== chunk.size) {
          throw new DownloadError(`part ${chunk.name} is ${attachment.size} bytes on Discord, the manifest says ${chunk.size}`, false);
        }
        // A temp file that fails (a full disk) is not the network: no retry.
        const keep = (work: Promise<void>) =>
          work.catch((err: unknown) => {
            throw stagingFailure(chunk, err);
          });
        await keep(staged.reset());
        const hash = createHash('sha256');
        const received = await this.#fetchBody(attachment.url, chunk.size, async (data) => {
          hash.update(data);
          await keep(staged.append(data));
          onBytes(staged.size);
        });
        if (received !== chunk.size) throw new DownloadError(`part ${chunk.name}: the download ended after ${received} of ${chunk.size} bytes`, true);
        await keep(staged.flush());
        if (hash.digest('hex') !== chunk.sha256) throw new DownloadError(`part ${chunk.name} does not match the manifest (sha256 differs)`, false);
      });
      return staged;
    } catch (err) {
      await staged.close();
      throw err;
    }
  }

  async #withRetry<T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> {
    const { retryLimit, backoffBaseMs, signal, random, sleep, onRetry } = this.#options;
    try {
      const { value } = await retry(attempt, {
        limit: retryLimit,
        baseMs: backoffBaseMs,
        retryable: (err) => err instanceof DownloadError && err.retryable,
        signal,
        random,
        sleep,
        onRetry: (err, n) => onRetry?.(what, messageOf(err), n),
      });
      return value;
    } catch (err) {
      const cause = err instanceof RetryFailure ? err.cause : err;
      if (signal.aborted || isAbortError(cause)) throw cause;
      if (cause instanceof DownloadError && cause.retryable) {
        const attempts = err instanceof RetryFailure ? err.attempts : 1;
        throw new DownloadError(`${what}: gave up after ${attempts} attempt(s): ${cause.message}`, false, { cause });
      }
      throw cause;
    }
  }

  /**
   * Fetches a part's message ahead (its attachment link), so that the part after the one
   * streaming starts without a round trip; rejects with a DownloadError (a deleted message:
   * not retryable) that the caller may also use to check the part is still there.
   */
  prefetch(channelId: string, chunk: Pick<ManifestChunk, 'name' | 'message_id' | 'channel_id'>): Promise<void> {
    const messageId = chunk.message_id;
    if (!messageId) return Promise.reject(new DownloadError(`part ${chunk.name}: no message id`, false));
    return this.#message(partChannel(channelId, chunk), messageId, false, () => `part ${chunk.name}: its message ${messageId}`).then(() => undefined);
  }

  /** The message, from this run's cache unless `fresh`; REST failures become DownloadErrors. */
  #message(channelId: string, messageId: string, fresh: boolean, describe: () => string): Promise<APIMessage> {
    const key = `${channelId}/${messageId}`;
    let pending = fresh ? undefined : this.#messages.get(key);
    if (pending === undefined) {
      pending = this.#get(channelId, messageId);
      this.#messages.set(key, pending);
      const mine = pending;
      // A failed fetch must not be served from the cache to the next part.
      mine.catch(() => {
        if (this.#messages.get(key) === mine) this.#messages.delete(key);
      });
    }
    return pending.catch((err: unknown) => {
      if (this.#options.signal.aborted) throw err;
      throw restFailure(err, describe(), channelId);
    });
  }

  /**
   * One message, under a signal of its own that follows the run's: discord.js adds an abort
   * listener to the signal it is given and never removes it, so a download of hundreds of part
   * messages would pile them on the run's signal (and Node warns past ten).
   */
  async #get(channelId: string, messageId: string): Promise<APIMessage> {
    const { signal } = this.#options;
    const own = new AbortController();
    const follow = () => own.abort(signal.reason);
    if (signal.aborted) follow();
    else signal.addEventListener('abort', follow, { once: true });
    try {
      return (await this.#options.rest.get(Routes.channelMessage(channelId, messageId), { signal: own.signal })) as APIMessage;
    } finally {
      signal.removeEventListener('abort', follow);
    }
  }

  /** GETs a CDN link (no Authorization header: links are signed) and hands over the body as it arrives. */
  async #fetchBody(url: string, expected: number, onData: (data: Uint8Array) => Promise<void>): Promise<number> {
    const stall = new AbortController();
    const stallMs = this.#options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    const stalled = () => stall.abort(new DownloadError(`no data for ${stallMs} ms`, true));
    const timer = setTimeout(stalled, stallMs);
    const signal = AbortSignal.any([this.#options.signal, stall.signal]);
    let received = 0;
    try {
      // undici's own request, not fetch: a Node stream of the body, without the web streams'
      // cost per chunk (a download through a /share link runs at the speed of this loop).
      const response = await request(url, { method: 'GET', signal });
      const status = response.statusCode;
      if (status < 200 || status > 299) {
        await response.body.dump().catch(() => undefined);
        // The CDN answers 404 (sometimes 403) for an expired or revoked link: a fresh message gives a new one.
        const retryable = status === 404 || status === 403 || status === 408 || status === 429 || status >= 500;
        throw new DownloadError(`the attachment link answered ${status}${status === 404 ? ' (expired or deleted)' : ''}`, retryable);
      }
      for await (const data of response.body as AsyncIterable<Uint8Array>) {
        timer.refresh();
        if (received + data.length > expected) {
          throw new DownloadError(`the download is longer than the ${expected} bytes expected`, true);
        }
        await onData(data);
        received += data.length;
      }
      return received;
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      if (this.#options.signal.aborted) throw this.#options.signal.reason ?? err;
      if (stall.signal.aborted) throw stall.signal.reason as DownloadError;
      throw new DownloadError(`network error: ${describeNetworkError(err)}`, true, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A part's temp file failed (a full or read-only temp folder): the operator's to fix, not retried. */
function stagingFailure(chunk: ManifestChunk, err: unknown): DownloadError {
  if (err instanceof DownloadError) return err;
  return new DownloadError(`part ${chunk.name}: cannot hold it in a temp file while it is checked: ${messageOf(err)}`, false, { cause: err });
}

/** A REST failure in words a user can act on; only server and network trouble is retried (classifyRestError decides). */
/**
 * Where a part's message is: the channel or thread its entry names (the manifest, the part
 * record), else `fallback`, the channel a part without one was posted in (older manifests
 * and records: the transfer's channel).
 */
function partChannel(fallback: string, chunk: { readonly channel_id?: string | null | undefined }): string {
  return chunk.channel_id ?? fallback;
}

function restFailure(err: unknown, what: string, channelId: string): DownloadError {
  const failure = classifyRestError(err);
  if (failure.status === 401) return new DownloadError('Discord rejected DISCORD_TOKEN (401 Unauthorized); check the token', false, { cause: err });
  if (err instanceof DiscordAPIError && failure.status === 403)
    return new DownloadError(`${what}: no access to channel ${channelId} (403 ${err.message})`, false, { cause: err });
  if (err instanceof DiscordAPIError && failure.status === 404)
    return new DownloadError(`${what} is gone (404 ${err.message}); was it deleted?`, false, { cause: err });
  return new DownloadError(`${what}: ${failure.message}`, failure.kind === 'transient', { cause: err });
}

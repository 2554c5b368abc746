/**
 * A PartSource over a remote `https` file (README, 'Security rules of `/upload`'): the response body is
 * cut into parts of `chunk_size_bytes` as it arrives, each hashed, with bounded memory (one
 * part being filled; the socket is not read while the orchestrator is busy, so TCP holds the
 * rest back).
 *
 * The whole-file hash runs on ResumableSha256 so that a resume with a Range request, which
 * never sees the bytes before the range, still hashes every byte: where a resume starts and
 * the checkpoints that allow it are resume/url.ts. Here the download starts there (`Range`
 * with `If-Range`), a broken connection is picked up once the same way, and every response
 * is checked against the record: a changed ETag / Last-Modified / size ends the transfer in
 * `error`: never a mixed file.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { UrlSource } from '../../store/schema.js';
import type { StoredTransfer } from '../../store/types.js';
import type { PartSource, SourcePart } from '../chunker.js';
import { ResumableSha256 } from '../resumable-hash.js';
import { abortReason, isAbortError } from '../../time/sleep.js';
import { HttpStatusError, messageOf, UrlSourceError } from '../../errors.js';
import { parseContentRange, parseLength } from './headers.js';
import { openUrl, type OpenUrlOptions } from './request.js';
import { readAtMinimumSpeed, type SpeedLimit } from './speed.js';
import { displayUrl } from './policy.js';
import { encryptedSize } from '../../crypto/age.js';
import { SealingStream } from '../../crypto/age-stream.js';
import { transferKeys } from '../encryption.js';
import {
  canResumeWithRange,
  confirmedPartsBefore,
  ifRangeValidator,
  PendingCheckpoints,
  urlResumePoint,
  type HashCheckpoint,
} from '../resume/url.js';

export interface UrlPartSourceOptions extends Omit<OpenUrlOptions, 'headers' | 'signal'>, SpeedLimit {
  maxFileSize: number; // bytes: MAX_FILE_SIZE_BYTES
  signal?: AbortSignal | undefined;
}

/** A broken connection is picked up once, with a Range request (README, 'Security rules of `/upload`'). */
const RECONNECTS = 1;

export function openUrlSource(transfer: StoredTransfer, options: UrlPartSourceOptions): UrlPartSource {
  return new UrlPartSource(transfer, options);
}

export class UrlPartSource implements PartSource {
  readonly #transfer: StoredTransfer;
  readonly #source: UrlSource;
  readonly #options: UrlPartSourceOptions;
  readonly #checkpoints = new PendingCheckpoints();
  #whole: string | null = null;
  #used = false;
  /** Where this run's download started (bytes), for tests and logs. */
  startOffset = 0;

  constructor(transfer: StoredTransfer, options: UrlPartSourceOptions) {
    if (transfer.source.kind !== 'url') throw new Error(`transfer ${transfer.id} has no url source`);
    this.#transfer = transfer;
    this.#source = transfer.source;
    this.#options = options;
  }

  wholeFileSha256(): string | null {
    return this.#whole;
  }

  /** The saved hash state after the byte `offset` (a part boundary this run read), if still held. */
  checkpointAt(offset: number): HashCheckpoint | null {
    return this.#checkpoints.at(offset);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourcePart> {
    if (this.#used) throw new Error('a url part source can be iterated only once');
    this.#used = true;
    const { signal } = this.#options;
    signal?.throwIfAborted();
    const t = this.#transfer;
    const chunkSize = t.chunk_size_bytes;
    // An encrypted download is sealed as it arrives (README, 'Encryption'). Sealing is the same
    // every time, so a resume downloads from the start and the parts come out byte-identical.
    const keys = transferKeys(t);
    const sealer = keys ? new SealingStream(keys) : null;
    const posted = (plainSize: number | null) => (plainSize === null || keys === null ? plainSize : encryptedSize(keys.prefix.length, plainSize));
    let resume = sealer ? null : urlResumePoint(t);
    let opened = await this.#open(resume?.offset ?? 0, resume !== null);
    // Every way out (the end, an error, a consumer that stops early) closes the response;
    // after the headers nothing else times it out, so a forgotten one would hold its socket.
    try {
      // A 200 to a Range request (validators unchanged): the server does not do ranges after all.
      if (opened.restarted) resume = null;
      const hash = resume ? ResumableSha256.restore(resume.state) : new ResumableSha256();
      let index = 0;
      if (resume) {
        // Parts before the checkpoint were confirmed in an earlier run: replay their records.
        for (const part of confirmedPartsBefore(t, resume.offset)) {
          yield part;
          index = part.index + 1;
        }
      }
      let offset = resume?.offset ?? 0; // bytes read so far = absolute offset of the next byte
      this.startOffset = offset;
      let expectedPlain = opened.total ?? (t.encryption ? t.encryption.plaintext_size : t.file_size);
      let expected = posted(expectedPlain);
      let part = Buffer.allocUnsafe(partLength(chunkSize, offset, expected));
      let filled = 0;
      let reconnects = 0;
      const emit = (): SourcePart => {
        const data = filled === part.length ? part : part.subarray(0, filled);
        hash.update(data);
        const out: SourcePart = { index, offset: offset - filled, size: filled, sha256: createHash('sha256').update(data).digest('hex'), data };
        this.#checkpoints.remember(offset, hash.exportState());
        index++;
        filled = 0;
        part = Buffer.allocUnsafe(partLength(chunkSize, offset, expected));
        return out;
      };
      /** Cuts `chunk` (bytes as posted) into parts; past `limit`, the source sent too much. */
      const cut = function* (chunk: Buffer, limit: number, tooLong: () => never): Generator<SourcePart> {
        for (let at = 0; at < chunk.length;) {
          if (offset >= limit) tooLong();
          const take = Math.min(part.length - filled, chunk.length - at, limit - offset);
          chunk.copy(part, filled, at, at + take);
          filled += take;
          offset += take;
          at += take;
          if (filled === part.length) yield emit();
        }
      };
      const tooLong = () => this.#tooLong(expectedPlain);
      for (;;) {
        try {
          for await (const chunk of readAtMinimumSpeed(opened.response, this.#options)) {
            if (signal?.aborted) throw abortReason(signal);
            const limit = Math.min(expectedPlain ?? Infinity, this.#options.maxFileSize);
            if (sealer === null) {
              yield* cut(chunk, limit, tooLong);
              continue;
            }
            // The limits are the plaintext's: checked before sealing.
            if (sealer.plainBytes + chunk.length > limit) tooLong();
            for (const sealed of sealer.push(chunk)) yield* cut(sealed, Infinity, tooLong);
          }
          const late = await opened.closed;
          if (late && !isAbortError(late)) {
            throw new UrlSourceError(
              `${displayUrl(this.#source.url)} sent more bytes than its Content-Length of ${expected ?? '?'} (${late.message})`,
            );
          }
          break;
        } catch (error) {
          opened.response.destroy();
          if (signal?.aborted || isAbortError(error)) throw error;
          if (error instanceof UrlSourceError) throw error;
          if (reconnects >= RECONNECTS || !canResumeWithRange(this.#source)) {
            const announced = expected === null ? '' : ` of the announced ${expected}`;
            throw new UrlSourceError(`the download of ${displayUrl(this.#source.url)} broke after ${offset}${announced} bytes: ${messageOf(error)}`, {
              cause: error,
            });
          }
          reconnects++;
          opened = await this.#open(sealer?.plainBytes ?? offset, true);
          if (opened.restarted) throw new UrlSourceError('the server ignored the Range request when the connection was picked up again');
          expectedPlain = opened.total ?? expectedPlain;
          expected = posted(expectedPlain);
        }
      }
      const received = sealer?.plainBytes ?? offset;
      if (expectedPlain !== null && received < expectedPlain) {
        throw new UrlSourceError(`${displayUrl(this.#source.url)} sent ${received} bytes, fewer than its announced size of ${expectedPlain}`);
      }
      if (sealer && received > 0) for (const sealed of sealer.end()) yield* cut(sealed, Infinity, tooLong);
      if (filled > 0) yield emit();
      if (received === 0) throw new UrlSourceError(`${displayUrl(this.#source.url)} sent an empty file: there is nothing to send`);
      this.#whole = hash.digest();
    } finally {
      opened.response.destroy();
    }
  }

  /** Whether a resume can skip the confirmed parts with a Range request (given a checkpoint). */
  canResumeWithRange(): boolean {
    return canResumeWithRange(this.#source);
  }

  /**
   * Opens the URL at `from` (a Range request when above 0). `restarted` when the server
   * answered the whole file (200) instead: the ETag still matches, it just did not do Range.
   */
  async #open(
    from: number,
    ranged: boolean,
  ): Promise<{ response: IncomingMessage; closed: Promise<Error | null>; total: number | null; restarted: boolean }> {
    const validator = ifRangeValidator(this.#source);
    const headers: Record<string, string> = ranged && from > 0 && validator ? { range: `bytes=${from}-`, 'if-range': validator } : {};
    let opened;
    try {
      opened = await openUrl(this.#source.url, { ...this.#options, headers, signal: this.#options.signal });
    } catch (error) {
      if (error instanceof HttpStatusError) throw new UrlSourceError(error.message);
      throw error;
    }
    const { response } = opened;
    const h = response.headers;
    const changes: string[] = [];
    const etag = typeof h.etag === 'string' ? h.etag : null;
    const lastModified = typeof h['last-modified'] === 'string' ? h['last-modified'] : null;
    if (this.#source.etag && etag && etag !== this.#source.etag) changes.push(`ETag ${this.#source.etag} → ${etag}`);
    if (this.#source.last_modified && lastModified && lastModified !== this.#source.last_modified) {
      changes.push(`Last-Modified ${this.#source.last_modified} → ${lastModified}`);
    }
    let total: number | null;
    let restarted = false;
    if (response.statusCode === 206) {
      const range = parseContentRange(typeof h['content-range'] === 'string' ? h['content-range'] : undefined);
      if (!range || range.start !== from) {
        response.destroy();
        throw new UrlSourceError(`asked for bytes from ${from}, the server answered the range ${String(h['content-range'])}`);
      }
      total = range.total;
    } else {
      total = parseLength(typeof h['content-length'] === 'string' ? h['content-length'] : undefined);
      restarted = from > 0 && headers.range !== undefined;
    }
    const planned = this.#transfer.encryption ? this.#transfer.encryption.plaintext_size : this.#transfer.file_size;
    if (planned !== null && total !== null && total !== planned) changes.push(`size ${planned} → ${total} bytes`);
    if (changes.length > 0) {
      response.destroy();
      throw new UrlSourceError(`source changed: ${displayUrl(this.#source.url)}: ${changes.join(', ')}`);
    }
    if (total !== null && total > this.#options.maxFileSize) {
      response.destroy();
      throw new UrlSourceError(
        `${displayUrl(this.#source.url)} is ${total} bytes, above this bot's limit of ${this.#options.maxFileSize} bytes (MAX_FILE_SIZE_BYTES)`,
      );
    }
    return { response, closed: opened.closed, total, restarted };
  }

  /** More bytes arrived than announced or allowed: refused before they are kept. */
  #tooLong(expected: number | null): never {
    if (expected !== null && expected <= this.#options.maxFileSize) {
      throw new UrlSourceError(`${displayUrl(this.#source.url)} sent more than its announced size of ${expected} bytes`);
    }
    throw new UrlSourceError(
      `${displayUrl(this.#source.url)} sent more than this bot's limit of ${this.#options.maxFileSize} bytes (MAX_FILE_SIZE_BYTES); stopped there`,
    );
  }
}

/** The next part's buffer: a whole part, or what is left of a known size. */
function partLength(chunkSize: number, offset: number, expected: number | null): number {
  if (expected === null) return chunkSize;
  return Math.max(1, Math.min(chunkSize, expected - offset));
}

/**
 * The streaming chunker: reads a file one part at a time, hashing
 * each part and the whole file in the same single pass.
 *
 * Two ways to hand a part on:
 * - `keepData: true` (default): each part gets a fresh Buffer holding its bytes, because the
 *   consumer may keep it while the upload is in flight.
 * - `keepData: false`: the part carries a range of the file instead (`file`, read while it
 *   is sent: `partChunks` in sink.ts), and the bytes are hashed through two small reused
 *   blocks, so memory does not grow with the part size or the parts in flight. The file's
 *   identity (device and inode), size and mtime are taken before the first read: reading a
 *   range refuses once they differ, and the sink hashes what it streams against `sha256`,
 *   so the bytes sent are the bytes hashed here, or the send fails.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, messageOf, SourceChangedError, SourceReadError } from '../errors.js';
import { sourceHandle, type SealedSource, type SourceHandle } from '../crypto/sealed-file.js';
import { readFully } from '../fs/read-fully.js';
import { abortReason } from '../time/sleep.js';

/** A part's bytes in the source file, readable at send time without holding them. */
export interface FileRange {
  path: string;
  /** The file as users see it named (relative to FILES_ROOT): errors shown to them use this. */
  name: string;
  offset: number; // bytes
  size: number; // bytes
  /** The whole file's size, mtime and identity before the bytes were hashed. */
  fileSize: number; // bytes
  mtimeMs: number;
  /** A file renamed over the original can have its size and mtime, never its device and inode. */
  dev: number;
  ino: number;
  /** Set when the range is of the file's age encryption (offsets and sizes are then the encrypted file's). */
  sealed?: SealedSource | undefined;
  /** With `sealed`: the range's fingerprint (SourceHandle.rangeTag), what the sink checks instead of a second sha256. */
  tag?: string | undefined;
}

export interface SourcePart {
  index: number; // 0-based
  offset: number; // bytes
  size: number; // bytes
  sha256: string; // hex
  /** The part's bytes, unless the source hands on `file` instead. */
  data?: Buffer | undefined;
  file?: FileRange | undefined;
}

/** What the orchestrator iterates: parts in order, then the whole file's hash. */
export interface PartSource extends AsyncIterable<SourcePart> {
  /**
   * The sha256 of every byte read, once iteration has finished; `null` before that or when
   * reading did not start at part 0 (the bytes before it were never seen).
   */
  wholeFileSha256(): string | null;
  /**
   * A source whose bytes come at someone else's pace (a member's upload) calls `listener`
   * each time it starts waiting for more: the orchestrator then posts the parts it was
   * gathering into a message instead of holding them until the message is full.
   */
  onWaiting?(listener: () => void): void;
}

export interface ReadPartsOptions {
  chunkSize: number; // bytes
  /** First part to read (0-based). Above 0 the whole-file hash is not available. */
  startIndex?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The size the caller planned with; a file that is shorter or longer is an error. Default: its size at open. */
  fileSize?: number | undefined;
  /** Default true: parts carry `data`. False: parts carry `file` and no bytes (see the module comment). */
  keepData?: boolean | undefined;
  /** The mtime the caller planned with; when given, a file modified since is refused before reading. */
  mtimeMs?: number | undefined;
  /** How errors name the file, which users see: its path relative to FILES_ROOT. Default: its base name. */
  name?: string | undefined;
  /** How many times a failed read is tried again before its error surfaces. Default: READ_RETRIES. */
  readRetries?: number | undefined;
  /**
   * Parts of the file's age encryption instead of the file itself (src/crypto/sealed-file.ts):
   * `fileSize` and every offset, size and hash are then the encrypted file's.
   */
  sealed?: SealedSource | undefined;
}

/** A read error is retried once; the next one ends the transfer in `error` (README, 'What survives what'). */
const READ_RETRIES = 1;

/** Hashing block with `keepData: false`: big enough for few syscalls, small enough to stay in cache. */
const HASH_BLOCK = 1024 * 1024; // bytes

export function readParts(filePath: string, options: ReadPartsOptions): PartSource {
  return new FilePartReader(filePath, options);
}

class FilePartReader implements PartSource {
  #whole: string | null = null;
  #used = false;
  readonly #name: string;

  constructor(
    private readonly filePath: string,
    private readonly options: ReadPartsOptions,
  ) {
    const { chunkSize, startIndex = 0 } = options;
    this.#name = options.name ?? path.basename(filePath);
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunk size must be a positive whole number, got ${chunkSize}`);
    if (!Number.isSafeInteger(startIndex) || startIndex < 0) throw new RangeError(`start index must be a whole number ≥ 0, got ${startIndex}`);
  }

  wholeFileSha256(): string | null {
    return this.#whole;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourcePart> {
    if (this.#used) throw new Error('readParts: a part source can be iterated only once');
    this.#used = true;
    const { chunkSize, startIndex = 0, signal, keepData = true } = this.options;
    signal?.throwIfAborted();
    const handle = await this.#open();
    try {
      const info = await handle.stat();
      const fileSize = this.options.fileSize ?? info.size;
      if (this.options.mtimeMs !== undefined && info.mtimeMs !== this.options.mtimeMs) {
        throw new SourceChangedError(`${this.#name} was modified after the transfer was planned`);
      }
      if (!keepData && info.size !== fileSize) {
        throw new SourceChangedError(`${this.#name} is ${info.size} bytes, expected ${fileSize}`);
      }
      const whole: Hash | null = startIndex === 0 ? createHash('sha256') : null;
      const blocks = keepData
        ? null
        : ([Buffer.allocUnsafe(Math.min(HASH_BLOCK, chunkSize)), Buffer.allocUnsafe(Math.min(HASH_BLOCK, chunkSize))] as const);
      for (let index = startIndex, offset = startIndex * chunkSize; offset < fileSize; index++, offset += chunkSize) {
        if (signal?.aborted) throw abortReason(signal);
        const size = Math.min(chunkSize, fileSize - offset);
        if (blocks === null) {
          const data = Buffer.allocUnsafe(size);
          await this.#fill(handle, data, offset, fileSize);
          whole?.update(data);
          yield { index, offset, size, sha256: createHash('sha256').update(data).digest('hex'), data };
        } else {
          const sha256 = await this.#hashRange(handle, blocks, offset, size, fileSize, whole, signal);
          const file: FileRange = {
            path: this.filePath,
            name: this.#name,
            offset,
            size,
            fileSize,
            mtimeMs: info.mtimeMs,
            dev: info.dev,
            ino: info.ino,
            sealed: this.options.sealed,
            tag: handle.rangeTag?.(offset, size),
          };
          yield { index, offset, size, sha256, file };
        }
      }
      await this.#assertEnds(handle, fileSize);
      this.#whole = whole?.digest('hex') ?? null;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Hashes [offset, offset + size) through two reused blocks: the read of the next block
   * runs on the thread pool while this thread hashes the current one.
   */
  async #hashRange(
    handle: SourceHandle,
    blocks: readonly [Buffer, Buffer],
    offset: number,
    size: number,
    fileSize: number,
    whole: Hash | null,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const part = createHash('sha256');
    const fill = (block: Buffer, at: number) => {
      const view = block.subarray(0, Math.min(block.length, offset + size - at));
      return this.#fill(handle, view, at, fileSize).then(() => view);
    };
    let at = offset;
    let next: Promise<Buffer> | null = fill(blocks[0], at);
    for (let turn = 0; next !== null; turn++) {
      const current = await next;
      at += current.length;
      next = at < offset + size ? fill(blocks[(turn + 1) % 2]!, at) : null;
      // A rejected read-ahead must not go unhandled while we hash; it is awaited next turn.
      next?.catch(() => undefined);
      part.update(current);
      whole?.update(current);
      if (signal?.aborted) {
        await next?.catch(() => undefined);
        throw abortReason(signal);
      }
    }
    return part.digest('hex');
  }

  /** Node's open errors carry the path on the host; ours name the file as users know it. */
  async #open(): Promise<SourceHandle> {
    try {
      return sourceHandle(await open(this.filePath, 'r'), this.options.sealed);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new SourceChangedError(`${this.#name} no longer exists`, { cause: err });
      throw new SourceReadError(`cannot open ${this.#name}: ${code ?? messageOf(err)}`, { cause: err });
    }
  }

  /** Fills `data` from `offset`; a file that ends early means it shrank since it was planned. */
  async #fill(handle: SourceHandle, data: Buffer, offset: number, fileSize: number): Promise<void> {
    const filled = await readFully({ read: (...args) => this.#read(handle, ...args) }, data, 0, data.length, offset);
    if (filled < data.length) {
      throw new SourceChangedError(`${this.#name} got shorter while it was read: ended at ${offset + filled} bytes, expected ${fileSize}`);
    }
  }

  async #assertEnds(handle: SourceHandle, fileSize: number): Promise<void> {
    const probe = Buffer.alloc(1);
    const { bytesRead } = await this.#read(handle, probe, 0, 1, fileSize);
    if (bytesRead > 0) throw new SourceChangedError(`${this.#name} got longer while it was read: more than the expected ${fileSize} bytes`);
  }

  async #read(handle: SourceHandle, buffer: Buffer, at: number, length: number, position: number) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await handle.read(buffer, at, length, position);
      } catch (err) {
        if (attempt >= (this.options.readRetries ?? READ_RETRIES)) {
          throw new SourceReadError(`reading ${this.#name} at byte ${position} failed ${timesText(attempt + 1)}: ${messageOf(err)}`, { cause: err });
        }
      }
    }
  }
}

/** A count of attempts in words: `once`, `twice`, `3 times`. */
function timesText(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

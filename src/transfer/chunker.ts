/**
 * The streaming chunker (SPEC section 3, step 3): reads a file one part at a time, hashing
 * each part and the whole file in the same single pass. Memory is one part's buffer plus
 * whatever the consumer still holds; each part gets a fresh Buffer because the consumer
 * may keep it while the upload is in flight.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { abortReason } from './retry.js';

export interface SourcePart {
  index: number; // 0-based
  offset: number; // bytes
  size: number; // bytes
  sha256: string; // hex
  data: Buffer;
}

/** What the orchestrator iterates: parts in order, then the whole file's hash. */
export interface PartSource extends AsyncIterable<SourcePart> {
  /**
   * The sha256 of every byte read, once iteration has finished; `null` before that or when
   * reading did not start at part 0 (the bytes before it were never seen).
   */
  wholeFileSha256(): string | null;
}

export interface ReadPartsOptions {
  chunkSize: number; // bytes
  /** First part to read (0-based). Above 0 the whole-file hash is not available. */
  startIndex?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The size the caller planned with; a file that is shorter or longer is an error. Default: its size at open. */
  fileSize?: number | undefined;
}

/** The source file changed size while it was read, or a read failed twice. */
export class SourceReadError extends Error {
  override readonly name = 'SourceReadError';
}

/** A read is retried this many times before the error surfaces (SPEC: "retried once"). */
const READ_RETRIES = 1;

export function readParts(filePath: string, options: ReadPartsOptions): PartSource {
  return new FilePartReader(filePath, options);
}

class FilePartReader implements PartSource {
  #whole: string | null = null;
  #used = false;

  constructor(
    private readonly filePath: string,
    private readonly options: ReadPartsOptions,
  ) {
    const { chunkSize, startIndex = 0 } = options;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunk size must be a positive whole number, got ${chunkSize}`);
    if (!Number.isSafeInteger(startIndex) || startIndex < 0) throw new RangeError(`start index must be a whole number ≥ 0, got ${startIndex}`);
  }

  wholeFileSha256(): string | null {
    return this.#whole;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourcePart> {
    if (this.#used) throw new Error('readParts: a part source can be iterated only once');
    this.#used = true;
    const { chunkSize, startIndex = 0, signal } = this.options;
    signal?.throwIfAborted();
    const handle = await open(this.filePath, 'r');
    try {
      const fileSize = this.options.fileSize ?? (await handle.stat()).size;
      const whole: Hash | null = startIndex === 0 ? createHash('sha256') : null;
      for (let index = startIndex, offset = startIndex * chunkSize; offset < fileSize; index++, offset += chunkSize) {
        if (signal?.aborted) throw abortReason(signal);
        const size = Math.min(chunkSize, fileSize - offset);
        const data = Buffer.allocUnsafe(size);
        await this.#fill(handle, data, offset, fileSize);
        whole?.update(data);
        yield { index, offset, size, sha256: createHash('sha256').update(data).digest('hex'), data };
      }
      await this.#assertEnds(handle, fileSize);
      this.#whole = whole?.digest('hex') ?? null;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Fills `data` from `offset`; a file that ends early means it shrank since it was planned. */
  async #fill(handle: FileHandle, data: Buffer, offset: number, fileSize: number): Promise<void> {
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await this.#read(handle, data, filled, data.length - filled, offset + filled);
      if (bytesRead === 0) {
        throw new SourceReadError(`${this.filePath} got shorter while it was read: ended at ${offset + filled} bytes, expected ${fileSize}`);
      }
      filled += bytesRead;
    }
  }

  async #assertEnds(handle: FileHandle, fileSize: number): Promise<void> {
    const probe = Buffer.alloc(1);
    const { bytesRead } = await this.#read(handle, probe, 0, 1, fileSize);
    if (bytesRead > 0) throw new SourceReadError(`${this.filePath} got longer while it was read: more than the expected ${fileSize} bytes`);
  }

  async #read(handle: FileHandle, buffer: Buffer, at: number, length: number, position: number) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await handle.read(buffer, at, length, position);
      } catch (err) {
        if (attempt >= READ_RETRIES) {
          throw new SourceReadError(`reading ${this.filePath} at byte ${position} failed twice: ${(err as Error).message}`, { cause: err });
        }
      }
    }
  }
}

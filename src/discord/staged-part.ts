/**
 * A part held in a temp file until it has been checked: a download link and `join --channel`
 * hand on no byte of a part before the whole part matched its sha256, so a client that
 * resumes (Range, If-Range with the same ETag) never keeps a byte nobody checked.
 *
 * A file, not memory: parts run up to 25 MiB, and a download has two in hand (the one being
 * sent, the next being fetched) times WEB_MAX_DOWNLOADS; in the page cache they do not count
 * towards the bot's RSS (BENCHMARKS.md, "Download links", has the measurement).
 */
import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAll } from '../fs/durable-write.js';
import { readFully } from '../fs/read-fully.js';

/** Network pieces (tens of KiB) are gathered into one write of about this size. */
const WRITE_BATCH = 1024 * 1024; // bytes
/** Read back in pieces of this size, each a fresh buffer: a socket may still hold the one before. */
const READ_PIECE = 1024 * 1024; // bytes

export class StagedPart {
  readonly #handle: FileHandle;
  /** Still to remove at close, when the platform would not remove it while open. */
  readonly #path: string | null;
  /** Appended, not yet written: the pieces themselves (each a buffer of its own from the socket), not a copy. */
  #pending: Uint8Array[] = [];
  #buffered = 0;
  #written = 0;

  private constructor(handle: FileHandle, file: string | null) {
    this.#handle = handle;
    this.#path = file;
  }

  /** A new, empty temp file in `dir` (default: the OS temp folder), readable only by this user. */
  static async create(dir: string = os.tmpdir()): Promise<StagedPart> {
    const file = path.join(dir, `dfs-part-${randomBytes(8).toString('hex')}.tmp`);
    const handle = await open(file, 'wx+', 0o600);
    // Removed at once where the OS allows: the bytes live while the handle is open, and a
    // crash (even SIGKILL) leaves nothing behind.
    const removed = await rm(file).then(
      () => true,
      () => false,
    );
    return new StagedPart(handle, removed ? null : file);
  }

  /** Bytes appended since the last reset. */
  get size(): number {
    return this.#written + this.#buffered;
  }

  /** Keeps `data` itself until the next flush: the caller must not reuse its buffer. */
  async append(data: Uint8Array): Promise<void> {
    this.#pending.push(data);
    this.#buffered += data.length;
    if (this.#buffered >= WRITE_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffered === 0) return;
    const [pieces, length, at] = [this.#pending, this.#buffered, this.#written];
    this.#pending = [];
    this.#buffered = 0;
    this.#written += length;
    const { bytesWritten } = await this.#handle.writev(pieces, at);
    // A short write (rare for a file, or past the system's limit of pieces): the rest, the plain way.
    if (bytesWritten < length) await writeAll(this.#handle, Buffer.concat(pieces).subarray(bytesWritten), at + bytesWritten);
  }

  /** Empty again, for another attempt at the same part. */
  async reset(): Promise<void> {
    this.#pending = [];
    this.#buffered = 0;
    this.#written = 0;
    await this.#handle.truncate(0);
  }

  /** The bytes from `start` up to `end` (exclusive), in pieces; flush() first. */
  async *read(start = 0, end = this.#written): AsyncGenerator<Uint8Array> {
    for (let at = start; at < end;) {
      const piece = Buffer.allocUnsafe(Math.min(READ_PIECE, end - at));
      const n = await readFully(this.#handle, piece, 0, piece.length, at);
      if (n !== piece.length) throw new Error(`the temp file of a part ended at ${at + n} of ${end} bytes`);
      yield piece;
      at += n;
    }
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
    if (this.#path !== null) await rm(this.#path, { force: true }).catch(() => undefined);
  }
}

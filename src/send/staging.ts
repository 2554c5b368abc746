/**
 * Where the bytes of a file sent from a member's computer wait until their part is posted
 * (README, 'Sending from your own computer'). One folder per upload under STAGING_DIR, named
 * after its transfer id, holding segment files named after the plaintext offset they start at
 * (`<offset>.part`, 16 digits), each at most one part's worth of the sender's bytes.
 *
 * - `write` appends what tus receives and fsyncs before it reports an offset past it; the
 *   part source reads only bytes already fsynced.
 * - `release(offset)` deletes the segments entirely before `offset`, once the parts made of
 *   them are confirmed and the hash checkpoint after them is saved (hooks.ts).
 * - `write` stops reading its stream while more than `perUploadBytes` wait to be posted: the
 *   sender's TCP window closes and the upload slows to the pace of Discord.
 * - A full disk (ENOSPC) cuts the segment back to its last fsynced length and waits for room:
 *   nothing fsynced is lost, nothing unsynced is reported.
 *
 * After a restart the folder is the truth: the offset is where the last segment ends (or the
 * first byte not yet released, when every segment was released).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode } from '../errors.js';
import type { FileRange } from '../transfer/chunker.js';
import { ChangeSignal } from '../time/change-signal.js';
import { sleep } from '../time/sleep.js';

/** Bytes written between fsyncs while a request streams: what the part source may read soonest. */
const SYNC_EVERY = 4 * 1024 * 1024;
/** How long a write waits before trying a full disk again. */
const DISK_FULL_RETRY_MS = 2_000;

interface Segment {
  start: number; // plaintext offset
  size: number; // bytes on disk
}

const SEGMENT_NAME = /^(\d{16})\.part$/;
const segmentName = (start: number) => `${String(start).padStart(16, '0')}.part`;

export interface UploadStagingOptions {
  /** The sender's file size (tus Upload-Length). */
  size: number;
  /** One segment: the transfer's part size. */
  segmentBytes: number;
  /** STAGING_PER_UPLOAD_BYTES: past this many bytes waiting to be posted, `write` stops reading. */
  perUploadBytes: number;
  /** Nothing before this offset is needed any more (from the transfer's saved checkpoint). */
  releasedUpTo: number;
  /** Milliseconds a write waits for room on a full disk before trying again. */
  diskFullRetryMs?: number | undefined;
}

/** One upload's staging folder. */
export class UploadStaging {
  readonly dir: string;
  readonly size: number;
  readonly #segmentBytes: number;
  readonly #perUpload: number;
  readonly #diskFullRetryMs: number;
  #segments: Segment[];
  /** Bytes fsynced: what tus reports and the part source may read. */
  #end: number;
  #releasedUpTo: number;
  /** Settles when the last write has synced and closed its segment. */
  #lastWrite: Promise<void> = Promise.resolve();
  /** The segment `write` appends to: never released under it (even empty, at a part boundary). */
  #appending: Segment | null = null;
  readonly #changed = new ChangeSignal();
  /** When the last byte arrived (ms since the epoch): an upload idle past SEND_EXPIRY_HOURS is cancelled. */
  lastReceivedAt: number;
  /** The write is held because the disk is full. */
  diskFull = false;
  #removed = false;

  private constructor(dir: string, options: UploadStagingOptions, segments: Segment[], lastReceivedAt: number) {
    this.dir = dir;
    this.size = options.size;
    this.#segmentBytes = options.segmentBytes;
    this.#perUpload = options.perUploadBytes;
    this.#diskFullRetryMs = options.diskFullRetryMs ?? DISK_FULL_RETRY_MS;
    this.#segments = segments;
    this.#releasedUpTo = options.releasedUpTo;
    const last = segments.at(-1);
    this.#end = Math.max(last ? last.start + last.size : 0, options.releasedUpTo);
    this.lastReceivedAt = lastReceivedAt;
  }

  /** Opens (creating when missing) the folder of an upload, reading what a previous run left in it. */
  static async open(dir: string, options: UploadStagingOptions): Promise<UploadStaging> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const segments: Segment[] = [];
    let lastReceivedAt = 0;
    for (const name of await readdir(dir)) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      const info = await stat(path.join(dir, name));
      segments.push({ start: Number(match[1]), size: info.size });
      lastReceivedAt = Math.max(lastReceivedAt, info.mtimeMs);
    }
    segments.sort((a, b) => a.start - b.start);
    // Only a contiguous run of segments from the first one is usable: anything after a gap was never reported.
    const usable: Segment[] = [];
    for (const segment of segments) {
      const previous = usable.at(-1);
      if (previous && previous.start + previous.size !== segment.start) break;
      if (!previous && segment.start > options.releasedUpTo) break;
      usable.push(segment);
    }
    for (const stray of segments.slice(usable.length)) await rm(path.join(dir, segmentName(stray.start)), { force: true });
    if (lastReceivedAt === 0) lastReceivedAt = (await stat(dir)).mtimeMs;
    return new UploadStaging(dir, options, usable, lastReceivedAt);
  }

  /** Bytes received and fsynced: the tus offset. */
  get offset(): number {
    return this.#end;
  }

  /** Bytes on disk waiting to be posted (or released). */
  get stagedBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** Bytes received but not yet released. */
  get waitingBytes(): number {
    return this.#end - this.#releasedUpTo;
  }

  /**
   * Appends `stream` at `offset` (which must be the current offset) and returns the new
   * offset, every byte before it fsynced. A stream that ends early (a dropped connection)
   * keeps what arrived. Stops reading while more than `perUploadBytes` wait to be posted.
   */
  async write(stream: Readable, offset: number, signal?: AbortSignal): Promise<number> {
    // A write that tus gave up on (a body past the length, a newer request) may still be
    // syncing what it took: the next one starts after it, at the offset it left.
    const previous = this.#lastWrite;
    let finished!: () => void;
    this.#lastWrite = new Promise<void>((resolve) => (finished = resolve));
    try {
      await previous;
      return await this.#write(stream, offset, signal);
    } finally {
      finished();
    }
  }

  /** The offset once any write still finishing has finished: what HEAD reports. */
  async settledOffset(): Promise<number> {
    await this.#lastWrite;
    return this.#end;
  }

  async #write(stream: Readable, offset: number, signal?: AbortSignal): Promise<number> {
    this.#throwIfRemoved();
    if (offset !== this.#end) throw new Error(`offset ${offset} is not the staged end ${this.#end}`);
    let handle: { fd: FileHandle; segment: Segment; synced: number } | null = null;
    const closeSegment = async () => {
      if (!handle) return;
      const h = handle;
      handle = null;
      this.#appending = null;
      await h.fd.close();
    };
    const sync = async () => {
      if (!handle || handle.segment.size === handle.synced) return;
      await handle.fd.sync();
      handle.synced = handle.segment.size;
      this.#end = handle.segment.start + handle.segment.size;
      this.#changed.fire();
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let at = 0;
        while (at < chunk.length) {
          this.#throwIfRemoved();
          // Slowed down: posting has this much to catch up on.
          while (this.waitingBytes + (handle ? handle.segment.size - handle.synced : 0) >= this.#perUpload) {
            await sync();
            if (this.waitingBytes < this.#perUpload) break;
            await this.#changed.wait(signal);
          }
          if (this.#end + (handle ? handle.segment.size - handle.synced : 0) >= this.size) {
            throw new Error(`more bytes than the upload's length of ${this.size}`);
          }
          if (!handle) handle = await this.#openSegment();
          const room = this.#segmentBytes - (handle.segment.start % this.#segmentBytes) - handle.segment.size;
          const take = Math.min(room, chunk.length - at, this.size - handle.segment.start - handle.segment.size);
          await this.#append(handle, chunk.subarray(at, at + take), signal);
          at += take;
          this.lastReceivedAt = Date.now();
          if (handle.segment.size - handle.synced >= SYNC_EVERY) await sync();
          if ((handle.segment.start + handle.segment.size) % this.#segmentBytes === 0 || handle.segment.start + handle.segment.size === this.size) {
            await sync();
            await closeSegment();
          }
        }
      }
    } finally {
      try {
        await sync();
      } finally {
        await closeSegment();
      }
    }
    return this.#end;
  }

  async #openSegment(): Promise<{ fd: FileHandle; segment: Segment; synced: number }> {
    const last = this.#segments.at(-1);
    // The last segment goes on while it has room; a new one starts at a segment boundary.
    const fresh = !last || (last.start + last.size) % this.#segmentBytes === 0 || last.start + last.size !== this.#end;
    const segment = fresh ? { start: this.#end, size: 0 } : last;
    if (fresh) this.#segments.push(segment);
    // Marked before the open: a release meanwhile must leave it alone.
    this.#appending = segment;
    try {
      const fd = await open(path.join(this.dir, segmentName(segment.start)), 'a', 0o600);
      return { fd, segment, synced: segment.size };
    } catch (error) {
      // Not opened: a new segment is no segment (else the next write would list a second one at its offset).
      this.#appending = null;
      if (fresh) this.#segments = this.#segments.filter((s) => s !== segment);
      throw error;
    }
  }

  /** Writes `data` at the segment's end; on a full disk, cuts back to what was fsynced and waits for room. */
  async #append(handle: { fd: FileHandle; segment: Segment; synced: number }, data: Buffer, signal?: AbortSignal): Promise<void> {
    for (;;) {
      try {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await handle.fd.write(data, written, data.length - written);
          written += bytesWritten;
          handle.segment.size += bytesWritten;
        }
        this.diskFull = false;
        return;
      } catch (error) {
        if (errnoCode(error) !== 'ENOSPC' && errnoCode(error) !== 'EDQUOT') throw error;
        // Nothing past the last fsync was reported: drop it, and write it again once there is room.
        handle.segment.size = handle.synced;
        await handle.fd.truncate(handle.synced);
        this.diskFull = true;
        this.#changed.fire();
        await sleep(this.#diskFullRetryMs, signal);
      }
    }
  }

  /**
   * The bytes from `offset` on, in order, as they are fsynced, until the upload's length;
   * waits while the sender sends nothing (`onWaiting` says when it starts and stops waiting).
   */
  async *read(offset: number, signal: AbortSignal, onWaiting?: (waiting: boolean) => void): AsyncGenerator<Buffer> {
    let at = offset;
    while (at < this.size) {
      signal.throwIfAborted();
      this.#throwIfRemoved();
      if (at >= this.#end) {
        onWaiting?.(true);
        try {
          await this.#changed.wait(signal);
        } finally {
          onWaiting?.(false);
        }
        continue;
      }
      const segment = this.#segments.find((s) => s.start <= at && at < s.start + s.size);
      if (!segment) throw new Error(`staged byte ${at} is missing (released before it was posted)`);
      const until = Math.min(this.#end, segment.start + segment.size);
      const stream = createReadStream(path.join(this.dir, segmentName(segment.start)), {
        start: at - segment.start,
        end: until - segment.start - 1,
        highWaterMark: 1024 * 1024,
        signal,
      });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        at += chunk.length;
        yield chunk;
      }
    }
  }

  /** Whether a segment starts exactly at the sender's byte `offset`. */
  segmentStartsAt(offset: number): boolean {
    return this.#segments.some((s) => s.start === offset);
  }

  /**
   * The segment starting at `offset`, holding exactly `size` fsynced bytes, as a file range the
   * sink reads when it posts the part (and checks it is still that file, as for `/split`).
   */
  async fileRange(offset: number, size: number, name: string): Promise<FileRange> {
    const segment = this.#segments.find((s) => s.start === offset);
    if (!segment || segment.size !== size || offset + size > this.#end) throw new Error(`no staged segment of ${size} bytes at ${offset}`);
    const file = path.join(this.dir, segmentName(offset));
    const info = await stat(file);
    return { path: file, name, offset: 0, size, fileSize: info.size, mtimeMs: info.mtimeMs, dev: info.dev, ino: info.ino };
  }

  /** Deletes the segments that end at or before `offset`: their parts are posted and checkpointed. */
  async release(offset: number): Promise<void> {
    if (offset <= this.#releasedUpTo) return;
    this.#releasedUpTo = offset;
    // Not a segment starting at `offset`: the next request's, listed (empty) while its file is being opened.
    const gone = this.#segments.filter((s) => s.start < offset && s.start + s.size <= Math.min(offset, this.#end) && s !== this.#appending);
    this.#segments = this.#segments.filter((s) => !gone.includes(s));
    for (const segment of gone) await rm(path.join(this.dir, segmentName(segment.start)), { force: true });
    this.#changed.fire();
  }

  #throwIfRemoved(): void {
    if (this.#removed) throw new Error('this upload was removed');
  }

  /** Removes the folder: the upload is complete, cancelled or expired. Pending reads and writes fail. */
  async remove(): Promise<void> {
    this.#removed = true;
    this.#segments = [];
    this.#changed.fire();
    await rm(this.dir, { recursive: true, force: true });
  }
}

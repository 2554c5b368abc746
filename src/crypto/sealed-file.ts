/**
 * A plaintext file seen as its age encryption (age.ts): reading bytes `[a, b)` of the
 * encrypted file reads and seals just the 64 KiB chunks they fall in. The chunker hashes the
 * parts through it and the sink reads them through it again while it sends, so an encrypted
 * part, like a plain one, is never held in memory, and one re-sent after a crash or
 * `/resume` is made afresh from the chunk it starts in, byte-identical.
 */
import { createHash } from 'node:crypto';
import { readFully, type PositionalReader } from '../fs/read-fully.js';
import { AGE_CHUNK, chunkCount, encryptedSize, SEALED_CHUNK, sealChunk, type AgeKeys } from './age.js';

/** How a file source is encrypted: its keys and the plaintext size they were made for. */
export interface SealedSource {
  keys: AgeKeys;
  plainSize: number; // bytes
}

/** What the chunker and the sink need of an open source: FileHandle's read, stat and close. */
export interface SourceHandle extends PositionalReader {
  stat(): Promise<{ size: number; mtimeMs: number; dev: number; ino: number }>;
  close(): Promise<void>;
  /**
   * Encrypted sources only: a fingerprint of the bytes `[offset, offset + size)` just read,
   * the sha256 of the Poly1305 tags of the chunks they lie in (see rangeTag below).
   */
  rangeTag?(offset: number, size: number): string;
}

/** `handle` as it is, or seen through its encryption. */
export function sourceHandle(handle: SourceHandle, sealed: SealedSource | undefined): SourceHandle {
  return sealed === undefined ? handle : new SealedFileHandle(handle, sealed);
}

/** Chunks sealed per plaintext read (256 KiB): small, since each handle holds one batch of each. */
const BATCH = 4;

class SealedFileHandle implements SourceHandle {
  readonly #file: SourceHandle;
  readonly #keys: AgeKeys;
  readonly #plainSize: number;
  readonly #size: number;
  readonly #chunks: number;
  #plain: Buffer | null = null;
  #sealed: Buffer | null = null;
  /** The batch held in #sealed (its first chunk's counter), and how many of its bytes are valid. */
  #batch = -1;
  #held = 0;
  /** The tags of the chunks sealed since the last rangeTag, by counter. */
  readonly #tags = new Map<number, Buffer>();

  constructor(file: SourceHandle, sealed: SealedSource) {
    this.#file = file;
    this.#keys = sealed.keys;
    this.#plainSize = sealed.plainSize;
    this.#size = encryptedSize(sealed.keys.prefix.length, sealed.plainSize);
    this.#chunks = chunkCount(sealed.plainSize);
  }

  /** The file's identity as it is, its size as the encryption of what it holds now (so any change shows). */
  async stat(): Promise<{ size: number; mtimeMs: number; dev: number; ino: number }> {
    const info = await this.#file.stat();
    return { size: encryptedSize(this.#keys.prefix.length, info.size), mtimeMs: info.mtimeMs, dev: info.dev, ino: info.ino };
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /**
   * The sha256 of the tags of the chunks `[offset, offset + size)` lies in, once it has been
   * read. Each tag authenticates its chunk's ciphertext under a key the plaintext's writer
   * does not have, so equal fingerprints mean equal ciphertext: the sink checks a part it
   * sealed again with this instead of hashing every byte a second time. Tags of chunks
   * before the range's last one are dropped (the next part may start in that one).
   */
  rangeTag(offset: number, size: number): string {
    const prefix = this.#keys.prefix.length;
    const first = Math.floor(Math.max(0, offset - prefix) / SEALED_CHUNK);
    const last = Math.floor(Math.max(0, offset + size - 1 - prefix) / SEALED_CHUNK);
    const digest = createHash('sha256');
    // Bytes that are all header have no chunk: the header itself stands in.
    if (offset + size <= prefix) digest.update(this.#keys.prefix);
    else
      for (let chunk = first; chunk <= last; chunk++) {
        const tag = this.#tags.get(chunk);
        if (tag === undefined) throw new Error(`chunk ${chunk} was not read before its fingerprint was asked for`);
        digest.update(tag);
      }
    for (const chunk of this.#tags.keys()) if (chunk < last) this.#tags.delete(chunk);
    return digest.digest('hex');
  }

  /** Up to `length` bytes of the encrypted file at `position`; fewer only where the plaintext ended early. */
  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const prefix = this.#keys.prefix;
    if (position >= this.#size) {
      // Past the end: what the plaintext holds past its planned end, so a file that grew shows as longer.
      return this.#file.read(buffer, offset, length, this.#plainSize + (position - this.#size));
    }
    let done = 0;
    while (done < length && position + done < this.#size) {
      const at = position + done;
      if (at < prefix.length) {
        done += prefix.copy(buffer, offset + done, at, Math.min(prefix.length, at + length - done));
        continue;
      }
      const chunk = Math.floor((at - prefix.length) / SEALED_CHUNK);
      // A read that starts a part seals from the chunk it starts in, not from a batch boundary.
      if (this.#batch < 0 || chunk < this.#batch || chunk >= this.#batch + BATCH) await this.#seal(chunk);
      const within = at - prefix.length - this.#batch * SEALED_CHUNK;
      if (within >= this.#held) break; // the plaintext ended before this chunk: a short read
      done += this.#sealed!.copy(buffer, offset + done, within, Math.min(this.#held, within + length - done));
    }
    return { bytesRead: done };
  }

  /** Reads the plaintext of the BATCH chunks from `first` and seals them; a chunk cut short by the file's end is left out. */
  async #seal(first: number): Promise<void> {
    this.#plain ??= Buffer.allocUnsafe(BATCH * AGE_CHUNK);
    this.#sealed ??= Buffer.allocUnsafe(BATCH * SEALED_CHUNK);
    this.#batch = -1;
    const from = first * AGE_CHUNK;
    const want = Math.min(BATCH * AGE_CHUNK, this.#plainSize - from);
    const got = await readFully(this.#file, this.#plain, 0, want, from);
    let held = 0;
    for (let i = 0; first + i < this.#chunks && i < BATCH; i++) {
      const size = Math.min(AGE_CHUNK, this.#plainSize - (first + i) * AGE_CHUNK);
      if (i * AGE_CHUNK + size > got) break;
      const counter = first + i;
      const plain = this.#plain.subarray(i * AGE_CHUNK, i * AGE_CHUNK + size);
      const sealed = sealChunk(this.#keys.payloadKey, counter, plain, counter === this.#chunks - 1, this.#sealed, i * SEALED_CHUNK);
      this.#tags.set(counter, Buffer.from(sealed.subarray(sealed.length - 16)));
      held += sealed.length;
    }
    this.#held = held;
    this.#batch = first;
  }
}

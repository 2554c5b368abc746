/**
 * The age payload (age.ts) as a stream, for bytes that come once and in order: `/upload`'s
 * download is sealed as it arrives, and `join --identity` opens the parts as it reads them.
 * Each holds back one chunk until it knows whether more follows, since the last chunk is
 * sealed differently.
 */
import { AgeChunkError, UserError } from '../errors.js';
import { AGE_CHUNK, headerLength, openChunk, SEALED_CHUNK, sealChunk, type AgeKeys } from './age.js';

/** Collects pushed bytes and hands them out in pieces of exactly `size`, keeping the last one back. */
class Blocks {
  #pending: Buffer[] = [];
  #length = 0;

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.#pending.push(data);
    this.#length += data.length;
  }

  get length(): number {
    return this.#length;
  }

  /** The first `size` bytes, removed. */
  take(size: number): Buffer {
    const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#length);
    const block = all.subarray(0, size);
    const rest = all.subarray(size);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return block;
  }
}

/** Plaintext in, the age file out: its prefix first, then each chunk once the next byte (or the end) shows whether it is the last. */
export class SealingStream {
  readonly #keys: AgeKeys;
  readonly #blocks = new Blocks();
  #counter = 0;
  #started = false;
  /** Plaintext bytes taken so far. */
  plainBytes = 0;

  /**
   * `fromChunk` above 0: the plaintext pushed starts at that 64 KiB chunk of the file (a
   * `/send` resumed after a restart), so the prefix and the chunks before it are not made
   * again. Sealing is deterministic: the chunks come out byte-identical to a run from 0.
   */
  constructor(keys: AgeKeys, fromChunk = 0) {
    this.#keys = keys;
    this.#counter = fromChunk;
    this.#started = fromChunk > 0;
    this.plainBytes = fromChunk * AGE_CHUNK;
  }

  push(data: Buffer): Buffer[] {
    this.plainBytes += data.length;
    this.#blocks.push(Buffer.from(data)); // the caller may reuse its buffer
    const out = this.#start();
    while (this.#blocks.length > AGE_CHUNK) out.push(sealChunk(this.#keys.payloadKey, this.#counter++, this.#blocks.take(AGE_CHUNK), false));
    return out;
  }

  /** The last chunk (empty when nothing came at all). */
  end(): Buffer[] {
    const out = this.#start();
    out.push(sealChunk(this.#keys.payloadKey, this.#counter++, this.#blocks.take(this.#blocks.length), true));
    return out;
  }

  #start(): Buffer[] {
    if (this.#started) return [];
    this.#started = true;
    return [this.#keys.prefix];
  }
}

/**
 * The age file in, plaintext out. The header is read first and handed to `unlock` (which
 * checks the identity and gives the keys); then every chunk is authenticated before any of
 * its bytes go out. `end` refuses a file cut short.
 */
export class OpeningStream {
  readonly #unlock: (start: Buffer) => Promise<AgeKeys>;
  readonly #blocks = new Blocks();
  #keys: AgeKeys | null = null;
  #counter = 0;
  /** Bytes of the encrypted file taken off #blocks so far. */
  #offset = 0;

  constructor(unlock: (start: Buffer) => Promise<AgeKeys>) {
    this.#unlock = unlock;
  }

  async push(data: Buffer): Promise<Buffer[]> {
    this.#blocks.push(Buffer.from(data));
    if (!(await this.#ready(false))) return [];
    const out: Buffer[] = [];
    while (this.#blocks.length > SEALED_CHUNK) out.push(this.#open(this.#blocks.take(SEALED_CHUNK), false));
    return out;
  }

  async end(): Promise<Buffer[]> {
    if (!(await this.#ready(true))) throw new UserError('the age file ends inside its header');
    return [this.#open(this.#blocks.take(this.#blocks.length), true)];
  }

  async #ready(ending: boolean): Promise<boolean> {
    if (this.#keys !== null) return true;
    const start = this.#blocks.take(this.#blocks.length);
    const length = headerLength(start);
    // The header, then the 16-byte payload nonce.
    if (length === null || start.length < length + 16) {
      this.#blocks.push(start);
      if (ending || start.length > 1024 * 1024) throw new UserError('the age header is missing or incomplete');
      return false;
    }
    this.#keys = await this.#unlock(start);
    const prefix = this.#keys.prefix.length;
    this.#blocks.push(start.subarray(prefix));
    this.#offset = prefix;
    return true;
  }

  #open(sealed: Buffer, last: boolean): Buffer {
    const at = this.#offset;
    this.#offset += sealed.length;
    if (last && sealed.length === 0 && this.#counter > 0) throw new AgeChunkError('the age file is cut short: it ends without its last chunk', at);
    const plain = openChunk(this.#keys!.payloadKey, this.#counter++, sealed, last);
    if (plain === null) {
      const why = last ? 'is cut short or was changed' : 'was changed';
      throw new AgeChunkError(`the encrypted data at byte ${at} fails authentication: it ${why}`, at);
    }
    if (last && plain.length === 0 && this.#counter > 1)
      throw new AgeChunkError('the age file ends with an empty chunk, which age does not write', at);
    return plain;
  }
}

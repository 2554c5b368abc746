/**
 * SHA-256 whose running state can be saved and restored. Node's crypto cannot export a
 * hash's state, and a URL transfer resumed with an HTTP Range request never sees the bytes
 * before the range again: saving the whole-file hash state at a part boundary lets it go on
 * from there. hash-wasm (a maintained WebAssembly hash library) can save and load its state;
 * part hashes still use node:crypto.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

const STATE_PREFIX = 'sha256:2:';

// One WebAssembly instance serves every hash: each object keeps only its saved state and
// loads it for the duration of one synchronous call, so they never interleave.
const shared: IHasher = await createSHA256();

function initialState(): Uint8Array {
  shared.init();
  return shared.save();
}

export class ResumableSha256 {
  #state: Uint8Array;
  #bytes: number;

  constructor(state: Uint8Array = initialState(), bytes = 0) {
    this.#state = state;
    this.#bytes = bytes;
  }

  get bytesHashed(): number {
    return this.#bytes;
  }

  update(data: Uint8Array): this {
    shared.load(this.#state);
    shared.update(data);
    this.#state = shared.save();
    this.#bytes += data.length;
    return this;
  }

  /** The hex digest; this object is not changed, so hashing may go on. */
  digest(): string {
    shared.load(this.#state);
    return shared.digest('hex');
  }

  /** A short text holding the whole running state. */
  exportState(): string {
    return `${STATE_PREFIX}${this.#bytes}:${Buffer.from(this.#state).toString('base64')}`;
  }

  static restore(text: string): ResumableSha256 {
    const match = /^sha256:2:(\d+):([A-Za-z0-9+/]+={0,2})$/.exec(text);
    if (!match) throw new Error('not a saved sha256 state');
    const bytes = Number(match[1]);
    if (!Number.isSafeInteger(bytes)) throw new Error('inconsistent saved sha256 state');
    const state = new Uint8Array(Buffer.from(match[2]!, 'base64'));
    try {
      shared.load(state); // validates the state's layout
    } catch (error) {
      throw new Error('not a saved sha256 state', { cause: error });
    }
    return new ResumableSha256(state, bytes);
  }
}

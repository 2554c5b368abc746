/**
 * SHA-256 whose running state can be saved and restored (FIPS 180-4). Node's crypto cannot
 * export a hash's state, and a URL transfer resumed with an HTTP Range request never sees the
 * bytes before the range again: saving the whole-file hash state at a part boundary lets it
 * go on from there. Part hashes still use node:crypto; only the whole-file hash runs here.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const STATE_PREFIX = 'sha256:1:';

export class ResumableSha256 {
  readonly #h = new Uint32Array(INITIAL);
  readonly #block = new Uint8Array(64);
  #blockLength = 0;
  #bytes = 0; // total bytes hashed; safe up to 2^53
  readonly #w = new Uint32Array(64);

  get bytesHashed(): number {
    return this.#bytes;
  }

  update(data: Uint8Array): this {
    let i = 0;
    if (this.#blockLength > 0) {
      const take = Math.min(64 - this.#blockLength, data.length);
      this.#block.set(data.subarray(0, take), this.#blockLength);
      this.#blockLength += take;
      i = take;
      if (this.#blockLength === 64) {
        this.#compress(this.#block, 0);
        this.#blockLength = 0;
      }
    }
    for (; i + 64 <= data.length; i += 64) this.#compress(data, i);
    if (i < data.length) {
      this.#block.set(data.subarray(i), 0);
      this.#blockLength = data.length - i;
    }
    this.#bytes += data.length;
    return this;
  }

  /** The hex digest; the object is not changed, so hashing may go on. */
  digest(): string {
    const copy = ResumableSha256.restore(this.exportState());
    const bitsHigh = Math.floor(copy.#bytes / 0x20000000); // bytes × 8 / 2^32
    const bitsLow = (copy.#bytes * 8) >>> 0;
    const padLength = copy.#blockLength < 56 ? 56 - copy.#blockLength : 120 - copy.#blockLength;
    const tail = new Uint8Array(padLength + 8);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(padLength, bitsHigh);
    view.setUint32(padLength + 4, bitsLow);
    copy.update(tail);
    return Array.from(copy.#h, (x) => x.toString(16).padStart(8, '0')).join('');
  }

  /** A short text holding the whole running state (about 150 characters). */
  exportState(): string {
    const words = Array.from(this.#h, (x) => x.toString(16).padStart(8, '0')).join('');
    const pending = Buffer.from(this.#block.subarray(0, this.#blockLength)).toString('hex');
    return `${STATE_PREFIX}${this.#bytes}:${words}:${pending}`;
  }

  static restore(state: string): ResumableSha256 {
    const match = /^sha256:1:(\d+):([0-9a-f]{64}):((?:[0-9a-f]{2}){0,63})$/.exec(state);
    if (!match) throw new Error('not a saved sha256 state');
    const bytes = Number(match[1]);
    const pending = Buffer.from(match[3]!, 'hex');
    if (!Number.isSafeInteger(bytes) || bytes % 64 !== pending.length) throw new Error('inconsistent saved sha256 state');
    const hash = new ResumableSha256();
    for (let i = 0; i < 8; i++) hash.#h[i] = parseInt(match[2]!.slice(i * 8, i * 8 + 8), 16);
    hash.#block.set(pending, 0);
    hash.#blockLength = pending.length;
    hash.#bytes = bytes;
    return hash;
  }

  #compress(data: Uint8Array, at: number): void {
    const w = this.#w;
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      w[t] = ((data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!) >>> 0;
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!;
      const y = w[t - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0;
    }
    const h = this.#h;
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (k + S1 + ch + K[t]! + w[t]!) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + k) >>> 0;
  }
}

/**
 * A multipart/form-data body for a message with attachments, streamed from disk into the
 * request through discord.js's REST client (so its rate-limit handling still applies; see
 * `makeRequest` in client.ts).
 *
 * Why not FormData: undici turns a FormData into a web ReadableStream and copies every chunk
 * on the way (`new Uint8Array(chunk)` in its body.js), so each MiB sent cost two fresh 1 MiB
 * native allocations that only a garbage collection frees. With a 4 GiB file those piled up
 * between collections and set the bot's peak RSS. Here a part's bytes are read into the same
 * two buffers for the whole request and handed to the socket as they are.
 *
 * Why reusing the buffers is safe: undici writes an async-iterable body chunk by chunk and,
 * when `socket.write` reports the socket's buffer full (always, for a chunk at least its
 * high-water mark: 16 KiB in Node 20, 64 KiB in Node 22), waits for 'drain' before it asks for
 * the next chunk; 'drain' comes once everything written has gone to the kernel. So only
 * pieces of at least 64 KiB are sent from a shared buffer (a smaller one, the tail of a part,
 * is sent as a copy, since it may still sit in the socket's queue when the next is read), and
 * a buffer is free again whenever the next chunk is asked for. Buffers go back to a small pool
 * only when a body was streamed to its end; an aborted request's are left to the collector.
 * Every end-to-end test checks the bytes Discord stored against the part hashes, so a client
 * that broke this would fail them.
 */
import { randomBytes } from 'node:crypto';
import { partChunks, type OutgoingPart } from '../transfer/sink.js';

/** Size of each of a body's two read buffers (a part's bytes are read into them in turn). */
const READ_BUFFER_SIZE = 1024 * 1024; // bytes
/** Pieces smaller than this are sent as a copy (see above). */
const MIN_SHARED_PIECE = 64 * 1024; // bytes
/** Read buffers not in use; enough for a few requests in flight. */
const pool: Buffer[] = [];
const POOL_MAX = 8;

/** What the sink learns and decides while a body streams (sink.ts). */
export interface BodyHooks {
  /** Before each piece: throwing stops the body, and with it the request, before its end. */
  check?: () => void;
  /** With every byte sent but the closing boundary: the body ends once this resolves. Each iteration asks again. */
  beforeEnd?: () => Promise<void>;
  /** The request's answer (client.ts): its status and headers. */
  answered?: (status: number, header: (name: string) => string | undefined) => void;
  /** Stops the request (client.ts sends the body under a signal of its own, see there). */
  signal?: AbortSignal | undefined;
}

export interface MultipartFile {
  filename: string;
  /** A part to read from disk (or its bytes), or a small in-memory body such as a manifest. */
  source: OutgoingPart | Uint8Array;
}

/** Same escaping as undici's FormData encoder. */
function quoted(value: string): string {
  return value.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

export class MultipartBody {
  readonly boundary = `----discord-file-splitter-${randomBytes(12).toString('hex')}`;
  /** Bytes in the whole body, for Content-Length. */
  readonly length: number;
  readonly #fields: [string, string][];
  readonly #files: MultipartFile[];
  /** Told by the iteration running now when it starts (true) and stops waiting in `beforeEnd` (client.ts stops the request's clock). */
  onHold: ((holding: boolean) => void) | undefined;
  /** Bytes the iteration running now has handed to the request (what a timeout reports). */
  handedOver = 0;

  constructor(
    fields: Record<string, string>,
    files: MultipartFile[],
    readonly hooks: BodyHooks = {},
  ) {
    this.#fields = Object.entries(fields);
    this.#files = files;
    let length = Buffer.byteLength(this.#closing());
    for (const [name, value] of this.#fields) length += Buffer.byteLength(this.#fieldHead(name, value));
    this.#files.forEach((file, i) => {
      length += Buffer.byteLength(this.#fileHead(i, file.filename)) + sizeOf(file.source) + 2;
    });
    this.length = length;
  }

  get contentType(): string {
    return `multipart/form-data; boundary=${this.boundary}`;
  }

  /** Each iteration streams the body afresh (a 429 makes discord.js send it again). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    this.handedOver = 0;
    const { check, beforeEnd } = this.hooks;
    for (const [name, value] of this.#fields) yield this.#out(Buffer.from(this.#fieldHead(name, value)));
    let buffers: Buffer[] | undefined;
    let streamed = false;
    try {
      for (const [i, file] of this.#files.entries()) {
        check?.();
        yield this.#out(Buffer.from(this.#fileHead(i, file.filename)));
        if (file.source instanceof Uint8Array) {
          yield this.#out(file.source);
        } else {
          buffers ??= [pool.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_SIZE), pool.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_SIZE)];
          for await (const piece of partChunks(file.source, buffers)) {
            check?.();
            yield this.#out(piece.byteLength < MIN_SHARED_PIECE ? Buffer.from(piece) : piece);
          }
        }
        yield this.#out(Buffer.from('\r\n'));
      }
      // Without its closing boundary the body is not complete: Discord cannot create the message yet.
      this.onHold?.(true);
      try {
        await beforeEnd?.();
      } finally {
        this.onHold?.(false);
      }
      yield this.#out(Buffer.from(this.#closing()));
      streamed = true;
    } finally {
      if (streamed && buffers) for (const buffer of buffers) if (pool.length < POOL_MAX) pool.push(buffer);
    }
  }

  /** A piece on its way to the request, counted. */
  #out(piece: Uint8Array): Uint8Array {
    this.handedOver += piece.byteLength;
    return piece;
  }

  #fieldHead(name: string, value: string): string {
    return `--${this.boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value.replace(/\r?\n|\r/g, '\r\n')}\r\n`;
  }

  #fileHead(i: number, filename: string): string {
    return (
      `--${this.boundary}\r\nContent-Disposition: form-data; name="files[${i}]"; filename="${quoted(filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n'
    );
  }

  #closing(): string {
    return `--${this.boundary}--\r\n`;
  }
}

function sizeOf(source: OutgoingPart | Uint8Array): number {
  return source instanceof Uint8Array ? source.byteLength : source.size;
}

/**
 * A byte range of a file that FormData accepts as a Blob and that reads the file only while
 * it is sent, in 1 MiB pieces: how baseline B posts parts with plain fetch. (The bot used it
 * until it switched to its own multipart body, src/discord/multipart.ts, which spares the
 * copy undici makes of every FormData chunk.)
 *
 * Why not `fs.openAsBlob(path).slice()`: Node 20 keeps a file-backed Blob's size in 32 bits
 * (a 4 GiB file opens as a 0-byte Blob, 4 GiB + 4 as 4 bytes), and its stream() reads 64 KiB
 * at a time. Like that Blob, a slice refuses to read (NotReadableError) once the file's size
 * or mtime differ from those seen before the range was hashed, checked before and after the
 * read, so the bytes sent are the bytes hashed or the send fails.
 */
import { open, type FileHandle } from 'node:fs/promises';

const PIECE = 1024 * 1024; // bytes per read while streaming

export interface FileIdentity {
  path: string;
  /** The whole file's size and mtime when it was opened for hashing. */
  fileSize: number; // bytes
  mtimeMs: number;
}

export class FileSlice {
  readonly type = '';

  constructor(
    readonly file: FileIdentity,
    readonly offset: number, // bytes into the file
    readonly size: number, // bytes
  ) {}

  /** FormData takes any object that says it is a Blob and can stream(). */
  get [Symbol.toStringTag](): string {
    return 'Blob';
  }

  slice(start = 0, end = this.size): FileSlice {
    const from = Math.min(Math.max(0, start), this.size);
    const to = Math.min(Math.max(from, end), this.size);
    return new FileSlice(this.file, this.offset + from, to - from);
  }

  stream(): ReadableStream<Uint8Array> {
    let handle: FileHandle | undefined;
    let at = 0;
    const close = async () => {
      const h = handle;
      handle = undefined;
      await h?.close().catch(() => undefined);
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (handle === undefined) {
            handle = await open(this.file.path, 'r');
            await this.#check(handle);
          }
          if (at >= this.size) {
            await this.#check(handle);
            await close();
            controller.close();
            return;
          }
          // A fresh buffer per piece: the HTTP client may still hold the previous one.
          const piece = Buffer.allocUnsafe(Math.min(PIECE, this.size - at));
          for (let got = 0; got < piece.length;) {
            const { bytesRead } = await handle.read(piece, got, piece.length - got, this.offset + at + got);
            if (bytesRead === 0) throw this.#changed();
            got += bytesRead;
          }
          at += piece.length;
          controller.enqueue(piece);
        } catch (error) {
          await close();
          throw error;
        }
      },
      cancel: close,
    });
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const out = new Uint8Array(this.size);
    let at = 0;
    for await (const piece of this.stream() as unknown as AsyncIterable<Uint8Array>) {
      out.set(piece, at);
      at += piece.length;
    }
    return out.buffer;
  }

  async #check(handle: FileHandle): Promise<void> {
    const info = await handle.stat();
    if (info.size !== this.file.fileSize || info.mtimeMs !== this.file.mtimeMs) throw this.#changed();
  }

  #changed(): Error {
    return new DOMException(`${this.file.path} changed after it was read for hashing (size or modification time differ)`, 'NotReadableError');
  }
}

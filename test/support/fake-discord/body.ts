import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import busboy from 'busboy';

export interface UploadedFile {
  field: string;
  /** N of a `files[N]` field (also `fileN` / `file`), else -1. */
  index: number;
  filename: string;
  mimeType: string;
  /** Empty when the bytes were not kept (see BodyLimits.retainFileBytes). */
  data: Buffer;
  size: number;
  /** Set when the bytes were hashed on receipt instead of kept. */
  sha256?: string;
}

export type BodyResult =
  | { kind: 'none'; bytes: number }
  | { kind: 'json'; json: unknown; bytes: number }
  | { kind: 'multipart'; payload: unknown; fields: Record<string, string>; files: UploadedFile[]; bytes: number }
  | { kind: 'tooLarge'; bytes: number }
  | { kind: 'fileTooLarge'; bytes: number }
  | { kind: 'bad'; message: string; bytes: number }
  | { kind: 'aborted'; bytes: number };

export interface BodyLimits {
  maxRequestBytes: number;
  attachmentSizeLimit: number;
  /** Files larger than this are hashed as they arrive and their bytes dropped; default: keep all. */
  retainFileBytes?: number;
}

function fileIndex(field: string): number {
  const m = /^files?\[(\d+)\]$/.exec(field) ?? /^file(\d*)$/.exec(field);
  if (!m) return -1;
  return m[1] === undefined || m[1] === '' ? 0 : Number(m[1]);
}

/** Read the whole body with Discord's limits; multipart is streamed through busboy. */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return readMultipart(req, limits);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    let done = false;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > limits.maxRequestBytes) {
        tooLarge = true;
        chunks.length = 0;
      } else chunks.push(c);
    });
    req.on('end', () => {
      done = true;
      if (tooLarge) return resolve({ kind: 'tooLarge', bytes });
      if (bytes === 0) return resolve({ kind: 'none', bytes });
      const text = Buffer.concat(chunks).toString('utf8');
      if (type.startsWith('application/json') || type === '') {
        try {
          resolve({ kind: 'json', json: JSON.parse(text), bytes });
        } catch {
          resolve({ kind: 'bad', message: 'The request body contains invalid JSON.', bytes });
        }
      } else if (type.startsWith('application/x-www-form-urlencoded')) {
        resolve({ kind: 'json', json: Object.fromEntries(new URLSearchParams(text)), bytes });
      } else resolve({ kind: 'bad', message: 'Unsupported content type', bytes });
    });
    req.on('close', () => {
      if (!done) resolve({ kind: 'aborted', bytes });
    });
  });
}

function readMultipart(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    let abandoned = false;
    let tooLarge = false;
    let fileTooLarge = false;
    let badMessage: string | null = null;
    let reqEnded = false;
    const files: UploadedFile[] = [];
    const fields: Record<string, string> = {};
    const finish = (r: BodyResult): void => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const conclude = (): void => {
      if (tooLarge) return finish({ kind: 'tooLarge', bytes });
      if (fileTooLarge) return finish({ kind: 'fileTooLarge', bytes });
      if (badMessage !== null) return finish({ kind: 'bad', message: badMessage, bytes });
      let payload: unknown = {};
      const pj = fields['payload_json'];
      if (pj !== undefined) {
        try {
          payload = JSON.parse(pj);
        } catch {
          return finish({ kind: 'bad', message: 'The request body contains invalid JSON.', bytes });
        }
      } else {
        const rest: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(fields)) rest[k] = v;
        payload = rest;
      }
      finish({ kind: 'multipart', payload, fields, files, bytes });
    };
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fileSize: limits.attachmentSizeLimit + 1, fieldSize: limits.maxRequestBytes, files: 1000, fields: 1000 },
      });
    } catch (e) {
      badMessage = `Invalid multipart body: ${(e as Error).message}`;
      req.resume();
      req.on('end', conclude);
      return;
    }
    const abandon = (): void => {
      if (abandoned) return;
      abandoned = true;
      req.unpipe(bb);
      req.resume();
      if (reqEnded) conclude();
    };
    const retain = limits.retainFileBytes ?? Number.POSITIVE_INFINITY;
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      // Hashed from the first byte: whether the file stays under `retain` is known only at its end.
      const hash = Number.isFinite(retain) ? createHash('sha256') : null;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (over || tooLarge) return;
        hash?.update(c);
        if (size <= retain) chunks.push(c);
        else chunks.length = 0;
      });
      // A body that ends or breaks off inside a file (no closing boundary) fails the file
      // stream too: that file never counts, and the whole body is bad or aborted.
      stream.on('error', (e: Error) => {
        over = true;
        chunks.length = 0;
        badMessage ??= `Invalid multipart body: ${e.message}`;
      });
      stream.on('limit', () => {
        over = true;
        fileTooLarge = true;
        chunks.length = 0;
      });
      stream.on('end', () => {
        if (over || tooLarge || fileTooLarge) return;
        const kept = size <= retain;
        const file: UploadedFile = {
          field,
          index: fileIndex(field),
          filename: info.filename ?? 'file',
          mimeType: info.mimeType,
          data: kept ? Buffer.concat(chunks, size) : Buffer.alloc(0),
          size,
        };
        if (hash) file.sha256 = hash.digest('hex');
        files.push(file);
      });
    });
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('close', () => {
      if (!abandoned) conclude();
    });
    bb.on('error', (e: Error) => {
      badMessage = `Invalid multipart body: ${e.message}`;
      abandon();
    });
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > limits.maxRequestBytes && !tooLarge) {
        tooLarge = true;
        abandon();
      }
    });
    req.on('end', () => {
      reqEnded = true;
      if (abandoned) conclude();
    });
    req.on('close', () => {
      if (reqEnded) return;
      finish({ kind: 'aborted', bytes });
      // The client went before the closing boundary: release the parser and any file in it.
      req.unpipe(bb);
      bb.destroy();
    });
    req.pipe(bb);
  });
}

/** Read and discard the rest of a body (used before early answers). */
export function drain(req: IncomingMessage): Promise<number> {
  return new Promise((resolve) => {
    if (req.readableEnded || req.complete) return resolve(0);
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => resolve(bytes));
    req.on('close', () => resolve(bytes));
    req.resume();
  });
}

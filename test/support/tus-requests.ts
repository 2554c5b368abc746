/**
 * tus requests by hand (`fetch`), for the protocol's edge cases a client library never sends:
 * a wrong offset, a body past the length, hostile metadata, a forged grant, another Origin.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface TusAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export interface TusRequest {
  /** The grant, sent as `Authorization: Bearer …`; none when null. */
  grant: string | null;
  headers?: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
}

/** One request to `url` (a tus endpoint or upload address) with `Tus-Resumable: 1.0.0`. */
export async function tusRequest(method: string, url: string, request: TusRequest): Promise<TusAnswer> {
  const headers: Record<string, string> = { 'Tus-Resumable': '1.0.0', ...request.headers };
  if (request.grant !== null) headers.Authorization = `Bearer ${request.grant}`;
  const streamed = request.body instanceof ReadableStream;
  const res = await fetch(url, {
    method,
    headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(streamed ? { duplex: 'half' } : {}),
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** `Upload-Metadata` with a `filename` (any bytes: it is base64 encoded). */
export function filenameMetadata(name: string): string {
  return `filename ${Buffer.from(name, 'utf8').toString('base64')}`;
}

/** POST a new upload of `length` bytes; its address (absolute) when created. */
export async function createUpload(
  files: string,
  grant: string,
  length: number,
  headers: Record<string, string> = {},
): Promise<TusAnswer & { url: string | null }> {
  const answer = await tusRequest('POST', files, { grant, headers: { 'Upload-Length': String(length), ...headers } });
  const location = answer.headers.get('location');
  return { ...answer, url: location === null ? null : new URL(location, files).toString() };
}

/** PATCH `bytes` at `offset`. */
export function patchUpload(url: string, grant: string, offset: number, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<TusAnswer> {
  return tusRequest('PATCH', url, {
    grant,
    headers: { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', ...headers },
    body: bytes,
  });
}

/** The offset HEAD reports, or null when HEAD does not answer 200. */
export async function headOffset(url: string, grant: string): Promise<number | null> {
  const answer = await tusRequest('HEAD', url, { grant });
  const offset = answer.headers.get('upload-offset');
  return answer.status === 200 && offset !== null ? Number(offset) : null;
}

/** Bytes in a staging folder (every file under it, one level of upload folders); 0 when it is gone. */
export async function stagedBytes(dir: string): Promise<number> {
  let total = 0;
  const uploads = await readdir(dir).catch(() => [] as string[]);
  for (const upload of uploads) {
    const files = await readdir(path.join(dir, upload)).catch(() => [] as string[]);
    for (const file of files)
      total += await stat(path.join(dir, upload, file)).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/** Where the bytes staged for one upload end (its segment files are named after the offset they start at); 0 when none are. */
export async function stagedEnd(uploadDir: string): Promise<number> {
  let end = 0;
  for (const file of await readdir(uploadDir).catch(() => [] as string[])) {
    const start = /^(\d{16})\.part$/.exec(file)?.[1];
    if (start === undefined) continue;
    const size = await stat(path.join(uploadDir, file)).then(
      (s) => s.size,
      () => 0,
    );
    end = Math.max(end, Number(start) + size);
  }
  return end;
}

/**
 * What is left in a staging folder once it has emptied, waiting (bounded, `timeoutMs`) for it:
 * a transfer's staged bytes go just after its record says how it ended, so a test reading the
 * folder at once could catch them on their way out. `[]` when it emptied in time.
 */
export async function stagingLeft(dir: string, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await readdir(dir).catch(() => [] as string[]);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 20));
  }
}

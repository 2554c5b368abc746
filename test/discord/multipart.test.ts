/** The streamed multipart body: exact length, well-formed for a real parser, file ranges read right, repeatable. */
import { open, readFile, rename, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import { beforeAll, describe, expect, it } from 'vitest';
import { MultipartBody } from '../../src/discord/multipart.js';
import type { OutgoingPart } from '../../src/transfer/sink.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';
import { sha256 } from '../support/hash.js';
import { tempDirForFile } from '../support/temp.js';

async function collect(body: MultipartBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Copies each chunk at once: the body reuses its read buffers, as the HTTP client allows.
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** What busboy makes of the body: fields and files by field name. */
async function parse(
  body: MultipartBody,
  bytes: Buffer,
): Promise<{ fields: Record<string, string>; files: Record<string, { filename: string; data: Buffer }> }> {
  const fields: Record<string, string> = {};
  const files: Record<string, { filename: string; data: Buffer }> = {};
  const bb = busboy({ headers: { 'content-type': body.contentType }, limits: { fileSize: 64 * MIB } });
  bb.on('field', (name, value) => (fields[name] = value));
  bb.on('file', (name, stream, info) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => (files[name] = { filename: info.filename ?? '', data: Buffer.concat(parts) }));
  });
  await new Promise<void>((resolve, reject) => {
    bb.on('close', resolve);
    bb.on('error', reject);
    Readable.from([bytes]).pipe(bb);
  });
  return { fields, files };
}

/** A whole-second mtime, so a test can give a changed file exactly the mtime it had. */
const MTIME = new Date('2024-06-01T12:00:00.000Z');

/** A file-backed part as the chunker makes it: the range, its hash, and the file's identity when hashed. */
async function filePart(file: string, index: number, offset: number, length: number): Promise<OutgoingPart> {
  const info = await stat(file);
  const bytes = (await readFile(file)).subarray(offset, offset + length);
  return {
    index,
    name: `big.bin.part${index + 1}`,
    offset,
    size: length,
    sha256: sha256(bytes),
    file: { path: file, name: 'big.bin', offset, size: length, fileSize: info.size, mtimeMs: info.mtimeMs, dev: info.dev, ino: info.ino },
  };
}

describe('MultipartBody', () => {
  let dir: string;
  let file: string;
  let mtimeMs: number;
  const part = (index: number, offset: number, length: number) => filePart(file, index, offset, length);

  beforeAll(async () => {
    dir = await tempDirForFile('dfs-multipart-');
    file = path.join(dir, 'big.bin');
    await writeSeededFile(file, 5 * MIB + 123, 7);
    ({ mtimeMs } = await stat(file));
  });

  it('GIVEN file ranges over several read buffers and an in-memory file THEN a parser gets every byte, and length is exact', async () => {
    const whole = await readFile(file);
    const parts = [await part(0, 0, 2 * MIB + 5), await part(1, 2 * MIB + 5, 3 * MIB + 118)];
    const manifest = Buffer.from('{"name": "a \\"quoted\\" name"}\n');
    const body = new MultipartBody({ payload_json: '{"content":"x"}' }, [
      ...parts.map((p) => ({ filename: p.name, source: p })),
      { filename: 'odd "name"\r\n.json', source: manifest },
    ]);
    const bytes = await collect(body);
    expect(bytes.length).toBe(body.length);
    const { fields, files } = await parse(body, bytes);
    expect(fields).toEqual({ payload_json: '{"content":"x"}' });
    expect(files['files[0]']!.data.equals(whole.subarray(0, 2 * MIB + 5))).toBe(true);
    expect(sha256(files['files[1]']!.data)).toBe(sha256(whole.subarray(2 * MIB + 5)));
    expect(files['files[2]']).toEqual({ filename: 'odd %22name%22%0D%0A.json', data: manifest });
    // A 429 makes discord.js send the same body again: it streams the same bytes.
    expect((await collect(body)).equals(bytes)).toBe(true);
  });

  it('GIVEN a part whose last piece is small THEN that piece is sent as a copy, not as a view of a shared read buffer', async () => {
    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source: await part(0, 0, MIB + 100) }]);
    const shared: number[] = [];
    const copied: number[] = [];
    for await (const chunk of body) {
      // A view of a shared 1 MiB read buffer, or a buffer of its own.
      (chunk.buffer.byteLength === MIB ? shared : copied).push(chunk.byteLength);
    }
    expect(shared).toEqual([MIB]);
    expect(copied).toContain(100);
  });

  it('GIVEN the file changes after hashing THEN streaming fails as a changed source, not with other bytes', async () => {
    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source: await part(0, 0, MIB) }]);
    await utimes(file, new Date(), new Date(mtimeMs + 5_000));
    try {
      await expect(collect(body)).rejects.toMatchObject({ reason: 'source_changed' });
    } finally {
      await utimes(file, new Date(), new Date(mtimeMs));
    }
  });

  /** The chunks a body yields until it fails, and the failure. */
  async function untilFailure(body: MultipartBody): Promise<{ sent: Buffer; error: unknown }> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(Buffer.from(chunk));
    } catch (error) {
      return { sent: Buffer.concat(chunks), error };
    }
    return { sent: Buffer.concat(chunks), error: null };
  }

  it('GIVEN the bytes read differ from the recorded part hash (same file, size and mtime) THEN the body fails after them, before the closing boundary', async () => {
    const other = path.join(dir, 'inplace.bin');
    await writeSeededFile(other, 2 * MIB, 8);
    await utimes(other, MTIME, MTIME);
    const source = await filePart(other, 0, 0, 2 * MIB);
    // Rewritten in place, same size, the mtime put back: only the bytes tell.
    const before = await stat(other);
    const handle = await open(other, 'r+');
    await handle.write(Buffer.alloc(1000, 1), 0, 1000, MIB);
    await handle.close();
    await utimes(other, MTIME, MTIME);
    expect((await stat(other)).mtimeMs).toBe(before.mtimeMs);

    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source }]);
    const { sent, error } = await untilFailure(body);
    expect(error).toMatchObject({ reason: 'source_changed', kind: 'fatal' });
    expect((error as Error).message).toMatch(/big\.bin .*hash/);
    expect(sent.includes(Buffer.from(`--${body.boundary}--`))).toBe(false);
  });

  it('GIVEN the file was replaced by another of the same size and mtime THEN the body fails as a changed source before any of its bytes', async () => {
    const other = path.join(dir, 'swapped.bin');
    await writeSeededFile(other, MIB, 9);
    await utimes(other, MTIME, MTIME);
    const source = await filePart(other, 0, 0, MIB);
    const before = await stat(other);
    await writeSeededFile(`${other}.new`, MIB, 10);
    await utimes(`${other}.new`, MTIME, MTIME);
    await rename(`${other}.new`, other);
    expect((await stat(other)).mtimeMs).toBe(before.mtimeMs);

    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source }]);
    const { sent, error } = await untilFailure(body);
    expect(error).toMatchObject({ reason: 'source_changed', kind: 'fatal' });
    // Nothing of the part went out: the body stops right after the file's head.
    expect(sent.toString('latin1').endsWith('Content-Type: application/octet-stream\r\n\r\n')).toBe(true);
  });
});

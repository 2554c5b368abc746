/** The streamed multipart body: exact length, well-formed for a real parser, file ranges read right, repeatable. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MultipartBody } from '../../src/discord/multipart.js';
import type { OutgoingPart } from '../../src/transfer/sink.js';
import { writeSeededFile } from '../support/random-file.js';

const MIB = 1024 * 1024;

async function collect(body: MultipartBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Copies each chunk at once: the body reuses its read buffers, as the HTTP client allows.
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** What busboy makes of the body: fields and files by field name. */
async function parse(body: MultipartBody, bytes: Buffer): Promise<{ fields: Record<string, string>; files: Record<string, { filename: string; data: Buffer }> }> {
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

describe('MultipartBody', () => {
  let dir: string;
  let file: string;
  let size: number;
  let mtimeMs: number;
  const part = (index: number, offset: number, length: number): OutgoingPart => ({
    index,
    name: `big.bin.part${index + 1}`,
    offset,
    size: length,
    sha256: '',
    file: { path: file, name: 'big.bin', offset, size: length, fileSize: size, mtimeMs },
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfs-multipart-'));
    file = path.join(dir, 'big.bin');
    await writeSeededFile(file, 5 * MIB + 123, 7);
    ({ size, mtimeMs } = await stat(file));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('GIVEN file ranges over several read buffers and an in-memory file THEN a parser gets every byte, and length is exact', async () => {
    const { readFile } = await import('node:fs/promises');
    const whole = await readFile(file);
    const parts = [part(0, 0, 2 * MIB + 5), part(1, 2 * MIB + 5, 3 * MIB + 118)];
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
    expect(createHash('sha256').update(files['files[1]']!.data).digest('hex')).toBe(
      createHash('sha256').update(whole.subarray(2 * MIB + 5)).digest('hex'),
    );
    expect(files['files[2]']).toEqual({ filename: 'odd %22name%22%0D%0A.json', data: manifest });
    // A 429 makes discord.js send the same body again: it streams the same bytes.
    expect((await collect(body)).equals(bytes)).toBe(true);
  });

  it('GIVEN a part whose last piece is small THEN that piece is sent as a copy, not as a view of a shared read buffer', async () => {
    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source: part(0, 0, MIB + 100) }]);
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
    const body = new MultipartBody({ payload_json: '{}' }, [{ filename: 'p1', source: part(0, 0, MIB) }]);
    await utimes(file, new Date(), new Date(mtimeMs + 5_000));
    try {
      await expect(collect(body)).rejects.toMatchObject({ reason: 'source_changed' });
    } finally {
      await utimes(file, new Date(), new Date(mtimeMs));
    }
  });
});

import { createServer } from 'node:http';
import { open, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSlice } from '../../bench/file-slice.js';
import { tempDir } from '../support/temp.js';
import { GIB } from '../support/units.js';

async function sparseFile(size: number, tail: string): Promise<string> {
  const file = path.join(await tempDir(), 'sparse.bin');
  const handle = await open(file, 'w');
  try {
    await handle.truncate(size);
    await handle.write(Buffer.from(tail), 0, tail.length, size - tail.length);
  } finally {
    await handle.close();
  }
  return file;
}

async function identity(file: string) {
  const info = await stat(file);
  return { path: file, fileSize: info.size, mtimeMs: info.mtimeMs };
}

describe('FileSlice', () => {
  it.each([4 * GIB, 4 * GIB + 4, 5 * GIB + 3])(
    'GIVEN a (sparse) file of %i bytes THEN a slice past 4 GiB reads the right bytes (Node 20 openAsBlob wraps sizes at 2^32)',
    async (size) => {
      const file = await sparseFile(size, 'END!');
      const slice = new FileSlice(await identity(file), size - 6, 6);
      expect(slice.size).toBe(6);
      expect(Buffer.from(await slice.arrayBuffer())).toEqual(Buffer.from([0, 0, ...Buffer.from('END!')]));
      expect(Buffer.from(await slice.slice(2, 4).arrayBuffer()).toString()).toBe('EN');
    },
  );

  it('GIVEN a FormData with a slice THEN fetch sends exactly its bytes', async () => {
    const file = await sparseFile(3 * 1024 * 1024 + 5, 'tail');
    const received: Buffer[] = [];
    const server = createServer((req, res) => {
      req.on('data', (c: Buffer) => received.push(c));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const form = new FormData();
      form.append('files[0]', new FileSlice(await identity(file), 3 * 1024 * 1024 - 2, 7), 'x.part001');
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: form, signal: AbortSignal.timeout(5_000) });
      expect(await res.text()).toBe('ok');
      const body = Buffer.concat(received).toString('latin1');
      expect(body).toContain('filename="x.part001"');
      // Bytes 3 MiB − 2 … 3 MiB + 4: three zeros, then the 'tail' written at 3 MiB + 1.
      expect(body).toContain('\r\n\r\n\u0000\u0000\u0000tail\r\n--');
    } finally {
      server.close();
    }
  });

  it('GIVEN the file changed since the identity was taken THEN reading fails with NotReadableError', async () => {
    const file = await sparseFile(100, 'abcd');
    const id = await identity(file);
    await utimes(file, new Date(), new Date(Date.now() + 10_000));
    await expect(new FileSlice(id, 0, 10).arrayBuffer()).rejects.toMatchObject({ name: 'NotReadableError' });
  });
});

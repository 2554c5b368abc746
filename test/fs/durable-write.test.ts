/**
 * writeFileDurably's contract, step by step: each step is made to fail in turn and the file
 * it was replacing must survive byte for byte with no temp file left; then a real full disk.
 */
import { chmod, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DurableWriteError } from '../../src/errors.js';
import { isLeftoverName, nodeFs, writeFileDurably, type DurableFs } from '../../src/fs/durable-write.js';
import { failingFs, injected } from '../support/failing-fs.js';
import { seededBytes } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { tmpfsForTest } from '../support/tmpfs.js';

const OLD = Buffer.from('{"version":"old"}\n');
const NEW = seededBytes(300_000, 1);

async function existingFile(): Promise<{ dir: string; file: string }> {
  const dir = await tempDir();
  const file = path.join(dir, 'data.json');
  await writeFile(file, OLD);
  return { dir, file };
}

/** `data` in pieces of `size` bytes, handed out one at a time. */
async function* inPieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe.each(['open', 'write', 'no-bytes', 'fsync', 'size', 'rename'] as const)('step %s fails', (step) => {
  test(`GIVEN an existing file AND ${step} fails THEN the error names the step, the old file survives byte for byte and no temp file is left`, async () => {
    const { dir, file } = await existingFile();
    const failing = failingFs(step);
    const err = await writeFileDurably(file, NEW, { fs: failing.fs }).catch((e: unknown) => e);
    expect(failing.hits()).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(DurableWriteError);
    const expectedStep = step === 'no-bytes' ? 'write' : step;
    expect((err as DurableWriteError).step).toBe(expectedStep);
    expect((err as DurableWriteError).file).toBe(file);
    expect((await readFile(file)).equals(OLD)).toBe(true);
    expect(await readdir(dir)).toEqual(['data.json']);
  });
});

test('GIVEN the directory fsync fails with EIO THEN the failure is reported at step dir-fsync, after the rename', async () => {
  const { file } = await existingFile();
  const failing = failingFs('dir-fsync');
  const err = await writeFileDurably(file, NEW, { fs: failing.fs }).catch((e: unknown) => e);
  expect(failing.hits()).toBe(1);
  expect((err as DurableWriteError).step).toBe('dir-fsync');
  expect((err as DurableWriteError).errno).toBe('EIO');
  // The rename happened; what failed is knowing it survives a power loss.
  expect((await readFile(file)).equals(NEW)).toBe(true);
});

test('GIVEN a platform that cannot fsync a directory (EINVAL) THEN the write succeeds', async () => {
  const { file } = await existingFile();
  const failing = failingFs('dir-fsync', 'EINVAL');
  await writeFileDurably(file, NEW, { fs: failing.fs });
  expect(failing.hits()).toBe(1);
  expect((await readFile(file)).equals(NEW)).toBe(true);
});

test('GIVEN every write takes only half of what it was given THEN every byte is written, in more calls', async () => {
  const { dir, file } = await existingFile();
  const failing = failingFs('short-write');
  await writeFileDurably(file, NEW, { fs: failing.fs });
  // 300,000 bytes halved each call: ~19 calls until one byte is left.
  expect(failing.hits()).toBeGreaterThan(10);
  expect((await readFile(file)).equals(NEW)).toBe(true);
  expect(await readdir(dir)).toEqual(['data.json']);
});

describe('content', () => {
  test.each([
    ['a string', () => NEW.toString('latin1'), Buffer.from(NEW.toString('latin1'))],
    ['a Buffer', () => NEW, NEW],
    ['an async iterable of chunks', () => inPieces(NEW, 65_536), NEW],
    ['an iterable of chunks', () => [NEW.subarray(0, 7), NEW.subarray(7)], NEW],
    [
      'a producer',
      () => async (write: (chunk: Uint8Array) => Promise<void>) => {
        for await (const piece of inPieces(NEW, 4096)) await write(piece);
      },
      NEW,
    ],
    ['empty', () => Buffer.alloc(0), Buffer.alloc(0)],
  ] as const)('GIVEN %s THEN the file holds exactly its bytes', async (_name, content, expected) => {
    const { dir, file } = await existingFile();
    await writeFileDurably(file, content());
    expect((await readFile(file)).equals(expected)).toBe(true);
    expect(await readdir(dir)).toEqual(['data.json']);
  });

  test('GIVEN a source that fails midway THEN its own error passes through, the old file survives and no temp file is left', async () => {
    const { dir, file } = await existingFile();
    class SourceGone extends Error {}
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield NEW.subarray(0, 1000);
      throw new SourceGone('the source changed');
    }
    await expect(writeFileDurably(file, failing())).rejects.toBeInstanceOf(SourceGone);
    expect((await readFile(file)).equals(OLD)).toBe(true);
    expect(await readdir(dir)).toEqual(['data.json']);
  });
});

describe('replacing', () => {
  test('GIVEN no file yet THEN it is created', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'new.bin');
    expect(await writeFileDurably(file, NEW)).toBeUndefined();
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(await readdir(dir)).toEqual(['new.bin']);
  });

  test('GIVEN deferDrop THEN the replaced version keeps a second name until the returned drop runs', async () => {
    const { dir, file } = await existingFile();
    const drop = await writeFileDurably(file, NEW, { deferDrop: true });
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(2);
    const previous = names.find((n) => n !== 'data.json')!;
    expect(previous).toMatch(/^data\.json\.previous-\d+-\d+$/);
    expect(isLeftoverName('data.json', previous)).toBe(true);
    expect((await readFile(path.join(dir, previous))).equals(OLD)).toBe(true);
    await drop!();
    expect(await readdir(dir)).toEqual(['data.json']);
  });

  test('GIVEN a file system without hard links THEN the file is still replaced and nothing is left', async () => {
    const { dir, file } = await existingFile();
    const noLinks: DurableFs = { ...nodeFs, link: async () => Promise.reject(injected('rename', 'EPERM')) };
    expect(await writeFileDurably(file, NEW, { fs: noLinks, deferDrop: true })).toBeUndefined();
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(await readdir(dir)).toEqual(['data.json']);
  });

  test('GIVEN a file with mode 0600 THEN its new version keeps mode 0600', async () => {
    const { file } = await existingFile();
    await chmod(file, 0o600);
    await writeFileDurably(file, NEW);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  test('GIVEN a symlink at the path THEN the link stays and the file it names gets the content', async () => {
    const { dir, file } = await existingFile();
    const alias = path.join(dir, 'alias.json');
    await symlink(file, alias);
    await writeFileDurably(alias, NEW);
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect((await readFile(alias)).equals(NEW)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['alias.json', 'data.json']);
  });
});

describe('replace: false', () => {
  test('GIVEN the name is free THEN the file is written', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.bin');
    await writeFileDurably(file, NEW, { replace: false });
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  test('GIVEN a file appears under the name while the content is written THEN EEXIST at step rename, and that file is untouched', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.bin');
    async function* appearing(): AsyncGenerator<Uint8Array> {
      yield NEW.subarray(0, 10);
      await writeFile(file, OLD);
      yield NEW.subarray(10);
    }
    const err = await writeFileDurably(file, appearing(), { replace: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DurableWriteError);
    expect(err).toMatchObject({ step: 'rename', errno: 'EEXIST' });
    expect((await readFile(file)).equals(OLD)).toBe(true);
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  test('GIVEN a file system without hard links THEN a free name is written and a taken one refused', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.bin');
    const noLinks: DurableFs = { ...nodeFs, link: async () => Promise.reject(injected('rename', 'EPERM')) };
    await writeFileDurably(file, NEW, { replace: false, fs: noLinks });
    expect((await readFile(file)).equals(NEW)).toBe(true);
    await expect(writeFileDurably(file, OLD, { replace: false, fs: noLinks })).rejects.toMatchObject({ step: 'rename', errno: 'EEXIST' });
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  test('GIVEN a dangling symlink at the name THEN refused: the name is taken', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.bin');
    await symlink(path.join(dir, 'nowhere'), file);
    await expect(writeFileDurably(file, NEW, { replace: false })).rejects.toMatchObject({ errno: 'EEXIST' });
    expect((await readdir(dir)).sort()).toEqual(['out.bin']);
  });
});

describe('a real full disk (2 MiB tmpfs)', () => {
  test.for([
    ['a Buffer', () => seededBytes(1_500_000, 2)],
    ['chunks', () => inPieces(seededBytes(1_500_000, 2), 100_000)],
  ] as const)(
    'GIVEN a 1 MiB file AND 1.5 MB of new content as %s THEN ENOSPC at step write, the old file survives byte for byte and no temp file is left',
    async ([, content], context) => {
      const disk = await tmpfsForTest(context, 2 * 1024 * 1024);
      const file = path.join(disk, 'data.bin');
      const old = seededBytes(1024 * 1024, 3);
      await writeFile(file, old);
      const err = await writeFileDurably(file, content(), { deferDrop: true }).catch((e: unknown) => e);
      expect(err).toMatchObject({ step: 'write', errno: 'ENOSPC' });
      expect((await readFile(file)).equals(old)).toBe(true);
      expect(await readdir(disk)).toEqual(['data.bin']);
      // The disk has room again once the temp file is gone.
      await writeFileDurably(file, seededBytes(900_000, 4));
      expect((await stat(file)).size).toBe(900_000);
    },
  );
});

describe('isLeftoverName', () => {
  test.each([
    ['.data.json.1234.0a1b2c3d.tmp', true],
    ['data.json.previous-1234-0', true],
    ['data.json.previous-notes.txt', false],
    ['.data.json.1234.0a1b2c3d.tmp.bak', false],
    ['.other.json.1234.0a1b2c3d.tmp', false],
    ['data.json', false],
  ])('GIVEN %s THEN %s', (entry, expected) => {
    expect(isLeftoverName('data.json', entry)).toBe(expected);
  });
});

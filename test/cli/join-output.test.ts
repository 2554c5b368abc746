/**
 * Where `join --out` writes: a regular file appears only whole and durable (and never
 * replaces one that appeared meanwhile, without --force); a pipe, a terminal or `-` is
 * written into; anything else that is not a regular file is refused and left alone.
 */
import { execFile, spawn } from 'node:child_process';
import { lstat, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, type TestContext } from 'vitest';
import { CliFailure } from '../../src/errors.js';
import { checkOutput, writeOutput } from '../../src/cli/output.js';
import type { CliIo } from '../../src/cli/io.js';
import { writeSeededFile } from '../support/random-file.js';
import { sha256 as sha256Of, sha256File } from '../support/hash.js';
import { tempDir } from '../support/temp.js';
import { tmpfsForTest } from '../support/tmpfs.js';
import { runCli } from './run-cli.js';

const run = promisify(execFile);

/** `source` split into `<dir>/parts`; returns the manifest's path. */
async function splitInto(dir: string, source: string, chunkSize: string): Promise<string> {
  const split = await runCli(['split', source, '--chunk-size', chunkSize, '--out', path.join(dir, 'parts')]);
  expect(split.stderr).toBe('');
  expect(split.code).toBe(0);
  return path.join(dir, 'parts', `${path.basename(source)}.manifest.json`);
}

async function seededSplit(size: number, chunkSize: string): Promise<{ dir: string; manifest: string; sha256: string }> {
  const dir = await tempDir();
  const source = path.join(dir, 'video.bin');
  const sha256 = await writeSeededFile(source, size, 5);
  return { dir, manifest: await splitInto(dir, source, chunkSize), sha256 };
}

/** Reads a FIFO in a child `cat` (its open blocks until a writer comes), bounded: killed if nothing ever writes. */
function readFifo(fifo: string): { bytes: () => Promise<Buffer> } {
  const child = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async bytes() {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      return Buffer.concat(chunks);
    },
  };
}

async function mkfifo(file: string): Promise<void> {
  await run('mkfifo', [file]);
}

describe('join --out a regular file', () => {
  it('GIVEN an output disk that fills up during the join THEN exit 1 naming no space, and neither output nor temp file is left', async (context) => {
    // 1.5 MB + 1 MB parts onto a 2 MiB disk: the last write only partly fits.
    const { manifest } = await seededSplit(2_500_000, '1500000');
    const disk = await tmpfsForTest(context, 2 * 1024 * 1024);
    const out = path.join(disk, 'video.bin');
    const joined = await runCli(['join', manifest, '--out', out]);
    expect(joined.code).toBe(1);
    expect(joined.stderr).toMatch(/^error: .*ENOSPC|no space/im);
    expect(await readdir(disk)).toEqual([]);
  });

  it('GIVEN a file that appears at --out while the join writes THEN refused as already there, that file untouched, no temp file left', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'out.bin');
    const output = await checkOutput(out, false);
    const err = await writeOutput(output, quietIo(), async (write) => {
      await write(Buffer.from('first half '));
      await writeFile(out, 'someone else');
      await write(Buffer.from('second half'));
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliFailure);
    expect((err as Error).message).toMatch(/already exists/);
    expect(await readFile(out, 'utf8')).toBe('someone else');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('GIVEN --force and a file at --out THEN it is replaced whole', async () => {
    const { dir, manifest, sha256 } = await seededSplit(300_000, '100000');
    const out = path.join(dir, 'video.bin');
    const joined = await runCli(['join', manifest, '--out', out, '--force']);
    expect(joined.stderr).toBe('');
    expect(joined.code).toBe(0);
    expect(await sha256File(out)).toBe(sha256);
  });
});

describe('join --out a stream', () => {
  it.each([[[] as string[]], [['--force']]])(
    'GIVEN a FIFO as --out (extra args %j) THEN the rebuilt bytes stream into it and it stays a FIFO',
    async (extra) => {
      const { dir, manifest, sha256 } = await seededSplit(300_000, '100000');
      const fifo = path.join(dir, 'pipe');
      await mkfifo(fifo);
      const reader = readFifo(fifo);
      const joined = await runCli(['join', manifest, '--out', fifo, ...extra]);
      const bytes = await reader.bytes();
      expect(joined.stderr).toBe('');
      expect(joined.code).toBe(0);
      expect(bytes.length).toBe(300_000);
      expect(sha256Of(bytes)).toBe(sha256);
      expect((await stat(fifo)).isFIFO()).toBe(true);
    },
  );

  it("GIVEN a symlink to a FIFO as --out (as /dev/stdout is a link to the process's pipe) THEN written into; the link and the FIFO stay", async () => {
    const { dir, manifest, sha256 } = await seededSplit(300_000, '100000');
    const fifo = path.join(dir, 'pipe');
    await mkfifo(fifo);
    const link = path.join(dir, 'stdout');
    await symlink(fifo, link);
    const reader = readFifo(fifo);
    const joined = await runCli(['join', manifest, '--out', link, '--force']);
    const bytes = await reader.bytes();
    expect(joined.code).toBe(0);
    expect(sha256Of(bytes)).toBe(sha256);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(fifo);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('GIVEN a character device as --out with --force THEN written into and still a character device', async (context) => {
    const dir = await tempDir();
    const device = path.join(dir, 'null');
    await makeNullDevice(context, device);
    const source = path.join(dir, 'video.bin');
    await writeSeededFile(source, 300_000, 6);
    const manifest = await splitInto(dir, source, '100000');
    const joined = await runCli(['join', manifest, '--out', device, '--force']);
    expect(joined.stderr).toBe('');
    expect(joined.code).toBe(0);
    const after = await stat(device);
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.rdev).toBe((await stat('/dev/null')).rdev);
  });

  it('GIVEN --out - THEN the rebuilt file goes to stdout and the report to stderr', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'notes.txt');
    const text = Array.from({ length: 4000 }, (_, i) => `line ${i}\n`).join('');
    await writeFile(source, text);
    const manifest = await splitInto(dir, source, '10000');
    // Run from `dir`, so a `-` taken for a file name would show up below.
    const joined = await runCli(['join', manifest, '--out', '-'], {}, { cwd: dir });
    expect(joined.code).toBe(0);
    expect(joined.stdout).toBe(text);
    expect(joined.stderr).toMatch(/^rebuilt stdout \(\d+ bytes/);
    expect(await readdir(dir)).toEqual(['notes.txt', 'parts']);
  });

  it('GIVEN a stream output AND a bad part THEN it gets only the checked parts before it, and exit 1 names the part and says what it got', async () => {
    const { dir, manifest } = await seededSplit(300_000, '100000');
    const bad = path.join(dir, 'parts', 'video.bin.part002');
    const bytes = await readFile(bad);
    bytes[5] = bytes[5]! ^ 0xff;
    await writeFile(bad, bytes);
    const fifo = path.join(dir, 'pipe');
    await mkfifo(fifo);
    const reader = readFifo(fifo);
    const joined = await runCli(['join', manifest, '--out', fifo]);
    const got = await reader.bytes();
    expect(joined.code).toBe(1);
    expect(joined.stderr).toMatch(/^error: part video\.bin\.part002 does not match/m);
    // part001 whole, checked; not one byte of the bad part002.
    expect(got.length).toBe(100_000);
    expect(got.equals((await readFile(path.join(dir, 'parts', 'video.bin.part001'))).subarray(0, 100_000))).toBe(true);
    expect(joined.stderr).toMatch(/already got 100000 bytes/);
  });
});

describe('join --out something else', () => {
  it.each([[[] as string[]], [['--force']]])(
    'GIVEN a socket as --out (extra args %j) THEN refused naming it, and the socket stays',
    async (extra) => {
      const { dir, manifest } = await seededSplit(1000, '500');
      const socket = path.join(dir, 'sock');
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      try {
        const joined = await runCli(['join', manifest, '--out', socket, ...extra]);
        expect(joined.code).toBe(1);
        expect(joined.stderr).toBe(`error: ${socket} is not a regular file, a character device or a FIFO; refusing to write there\n`);
        expect((await lstat(socket)).isSocket()).toBe(true);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  );

  it('GIVEN a directory as --out THEN refused naming it', async () => {
    const { dir, manifest } = await seededSplit(1000, '500');
    const joined = await runCli(['join', manifest, '--out', dir, '--force']);
    expect(joined.code).toBe(1);
    expect(joined.stderr).toBe(`error: ${dir} is a directory; give --out a file path\n`);
  });
});

function quietIo(): CliIo {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  return { stdout: sink, stderr: sink, env: {}, cwd: process.cwd(), signal: new AbortController().signal };
}

/** A character device like /dev/null (1, 3) in a temp dir, so no real device is at risk; skips where mknod is not permitted. */
async function makeNullDevice(context: TestContext, file: string): Promise<void> {
  try {
    await run('mknod', [file, 'c', '1', '3']);
  } catch (err) {
    context.skip(`mknod is not permitted here (${((err as { stderr?: string }).stderr ?? String(err)).trim()}); needs root`);
  }
}

/**
 * The output of a join, checked before any work. A regular file is written durably beside
 * itself and appears only whole; a pipe, a terminal or `-` (stdout) is written into as the
 * bytes are checked, since there is nothing to rename.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeAll, writeFileDurably, type WriteChunk } from '../fs/durable-write.js';
import type { Manifest } from '../transfer/manifest.js';
import { CliFailure, DurableWriteError, messageOf } from '../errors.js';
import type { CliIo } from './io.js';

export type JoinOutput =
  | { kind: 'file'; path: string; force: boolean }
  /** A character device or a FIFO, by path (possibly through a symlink, as /dev/stdout is). */
  | { kind: 'stream'; path: string }
  | { kind: 'stdout' };

/** `--out`'s value: `-` is stdout, anything else a path from `cwd`. */
export function resolveOutput(cwd: string, value: string): string {
  return value === '-' ? value : path.resolve(cwd, value);
}

/**
 * Where the bytes will go: a missing path or (with `force`) a regular file is a file; a
 * character device or FIFO is written into, `force` or not, since nothing is replaced.
 * A directory, an existing file without `force` and anything else are refused.
 */
export async function checkOutput(out: string, force: boolean): Promise<JoinOutput> {
  if (out === '-') return { kind: 'stdout' };
  // stat follows symlinks: /dev/stdout is a link to whatever fd 1 is.
  const existing = await stat(out).catch(() => null);
  if (existing === null) return { kind: 'file', path: out, force };
  if (existing.isCharacterDevice() || existing.isFIFO()) return { kind: 'stream', path: out };
  if (existing.isDirectory()) throw new CliFailure(`${out} is a directory; give --out a file path`);
  if (!existing.isFile()) throw notWritable(out);
  if (!force) throw new CliFailure(`${out} already exists (use --force to overwrite it)`);
  return { kind: 'file', path: out, force };
}

/** How the output is named in messages. */
export function outputName(output: JoinOutput): string {
  return output.kind === 'stdout' ? 'stdout' : output.path;
}

/** Where the command's own report goes: stderr when the rebuilt bytes went to stdout. */
export function reportStream(output: JoinOutput, io: CliIo): NodeJS.WritableStream {
  return output.kind === 'stdout' ? io.stderr : io.stdout;
}

/**
 * Runs `produce`, handing its chunks to the output. A file appears only if `produce`
 * resolves, and never over a file that appeared meanwhile unless --force. A stream gets each
 * chunk at once; if `produce` then fails, the error says how many bytes it already got.
 */
export async function writeOutput(output: JoinOutput, io: CliIo, produce: (write: WriteChunk) => Promise<void>): Promise<void> {
  if (output.kind === 'file') return writeFile(output, produce);
  let written = 0;
  const counted =
    (write: WriteChunk): WriteChunk =>
    async (chunk) => {
      await write(chunk);
      written += chunk.length;
    };
  try {
    if (output.kind === 'stdout') await intoStream(io.stdout, (write) => produce(counted(write)));
    else await intoDevice(output.path, (write) => produce(counted(write)));
  } catch (err) {
    if (written === 0) throw err;
    const message = `${messageOf(err)}\n${outputName(output)} already got ${written} bytes of the file before this; throw them away`;
    throw new CliFailure(message, { cause: err });
  }
}

async function writeFile(output: { path: string; force: boolean }, produce: (write: WriteChunk) => Promise<void>): Promise<void> {
  try {
    await writeFileDurably(output.path, produce, { replace: output.force });
  } catch (err) {
    if (!(err instanceof DurableWriteError)) throw err;
    if (err.errno === 'EEXIST')
      throw new CliFailure(`${output.path} already exists: it appeared while joining (use --force to overwrite it)`, { cause: err });
    throw new CliFailure(err.message, { cause: err });
  }
}

/** Opens without O_CREAT or O_TRUNC and checks what was opened, so a file put there since the check is left alone. */
async function intoDevice(device: string, produce: (write: WriteChunk) => Promise<void>): Promise<void> {
  const handle = await open(device, constants.O_WRONLY).catch((err: unknown) => {
    throw new CliFailure(`cannot write to ${device}: ${messageOf(err)}`, { cause: err });
  });
  try {
    const opened = await handle.stat();
    if (!opened.isCharacterDevice() && !opened.isFIFO()) throw notWritable(device);
    await produce(async (chunk) => {
      await writeAll(handle, chunk, null).catch((err: unknown) => {
        throw new CliFailure(`writing to ${device}: ${messageOf(err)}`, { cause: err });
      });
    });
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Each chunk is flushed before the next is asked for: the producer reuses its buffer. */
async function intoStream(stream: NodeJS.WritableStream, produce: (write: WriteChunk) => Promise<void>): Promise<void> {
  let failed: Error | undefined;
  // A failed write's 'error' event follows its callback; without a listener it would crash the process.
  const onError = (err: Error) => void (failed ??= err);
  stream.on('error', onError);
  try {
    await produce(
      (chunk) =>
        new Promise<void>((resolve, reject) => {
          if (failed) return reject(failed);
          stream.write(chunk, (err) => {
            const problem = err ?? failed;
            if (problem) reject(new CliFailure(`writing to stdout: ${problem.message}`, { cause: problem }));
            else resolve();
          });
        }),
    );
  } finally {
    await new Promise((resolve) => setImmediate(resolve));
    stream.off('error', onError);
  }
}

function notWritable(out: string): CliFailure {
  return new CliFailure(`${out} is not a regular file, a character device or a FIFO; refusing to write there`);
}

/** `dir`/<the manifest's file name>, refusing a name that would land anywhere else. */
export function defaultOutput(manifest: Manifest, dir: string, where: string): string {
  const name = manifest.file.name;
  if (name !== path.basename(name) || name.includes('\\') || name === '.' || name === '..') {
    throw new CliFailure(`bad manifest ${where}: file name ${JSON.stringify(name)} is not a plain file name; give --out`);
  }
  return path.join(dir, name);
}

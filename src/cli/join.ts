/**
 * `join <manifest.json> [--parts DIR] [--out FILE] [--force]` and the checks `verify` shares:
 * every part's size and sha256, then the whole file's, streamed part by part. `join` writes
 * into a temp file beside the output and renames it into place only once everything matched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseManifest, type Manifest } from '../transfer/manifest.js';
import { CliFailure, UsageError } from './errors.js';
import { statInputFile, type CliIo } from './io.js';
import { ProgressBar } from './progress-bar.js';

export const JOIN_USAGE = 'join <manifest.json> [--parts DIR] [--out FILE] [--force]';

const READ_BLOCK = 1024 * 1024; // bytes

export async function join(args: string[], io: CliIo): Promise<number> {
  if (args.some((a) => /^--(channel|message)(=|$)/.test(a))) {
    throw new UsageError('join --channel/--message (download from Discord) is not implemented yet; join from a local manifest and parts');
  }
  const { values, positionals } = parseArgs({
    args,
    options: { parts: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`join takes exactly one manifest: ${JOIN_USAGE}`);
  const { manifest, manifestPath } = await loadManifest(path.resolve(io.cwd, positionals[0]!));
  const partsDir = path.resolve(io.cwd, values.parts ?? path.dirname(manifestPath));
  const out = values.out === undefined ? defaultOutput(manifest, manifestPath) : path.resolve(io.cwd, values.out);

  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new CliFailure(`${out} is a directory; give --out a file path`);
  if (existing && !values.force) throw new CliFailure(`${out} already exists (use --force to overwrite it)`);

  const temp = path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  let handle: FileHandle | null = null;
  try {
    handle = await open(temp, 'wx').catch((err: Error) => {
      throw new CliFailure(`cannot write in ${path.dirname(out)}: ${err.message}`);
    });
    const problems = await checkParts(manifest, partsDir, io, { output: handle, stopAtFirst: true, label: 'join' });
    if (problems.length > 0) throw new CliFailure(problems.join('\n'));
    await handle.datasync();
    await handle.close();
    handle = null;
    await rename(temp, out);
  } finally {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
  }
  io.stdout.write(`rebuilt ${out} (${manifest.file.size} bytes, sha256 ${manifest.file.sha256} verified)\n`);
  return 0;
}

export async function loadManifest(manifestPath: string): Promise<{ manifest: Manifest; manifestPath: string }> {
  await statInputFile(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new CliFailure(`bad manifest ${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return { manifest: parseManifest(json), manifestPath };
  } catch (err) {
    const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
    const detail = issues
      ? issues
          .slice(0, 3)
          .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
          .join('; ')
      : (err as Error).message;
    throw new CliFailure(`bad manifest ${manifestPath}: ${detail}`);
  }
}

function defaultOutput(manifest: Manifest, manifestPath: string): string {
  const name = manifest.file.name;
  if (name !== path.basename(name) || name.includes('\\') || name === '.' || name === '..') {
    throw new CliFailure(`bad manifest ${manifestPath}: file name ${JSON.stringify(name)} is not a plain file name; give --out`);
  }
  return path.join(path.dirname(manifestPath), name);
}

export interface CheckOptions {
  /** Where the verified bytes go (join); nothing is written without it (verify). */
  output?: FileHandle | undefined;
  stopAtFirst: boolean;
  label: string;
}

/** Streams every part in order; returns one line per problem, naming the part's file name. */
export async function checkParts(manifest: Manifest, partsDir: string, io: CliIo, options: CheckOptions): Promise<string[]> {
  const problems: string[] = [];
  const whole = createHash('sha256');
  const bar = new ProgressBar(io.stderr, options.label, manifest.file.size);
  let done = 0;
  let written = 0;
  try {
    for (const chunk of manifest.chunks) {
      io.signal.throwIfAborted();
      const file = path.join(partsDir, chunk.name);
      const info = await stat(file).catch(() => null);
      if (info === null || !info.isFile()) {
        problems.push(`missing part ${chunk.name} (looked for ${file})`);
      } else if (info.size !== chunk.size) {
        problems.push(`part ${chunk.name} is ${info.size} bytes, the manifest says ${chunk.size}`);
      } else {
        const partHash = createHash('sha256');
        const handle = await open(file, 'r');
        try {
          const buffer = Buffer.allocUnsafe(Math.min(READ_BLOCK, chunk.size));
          for (let at = 0; at < chunk.size; ) {
            io.signal.throwIfAborted();
            const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, chunk.size - at), at);
            if (bytesRead === 0) break;
            const data = buffer.subarray(0, bytesRead);
            partHash.update(data);
            whole.update(data);
            if (options.output) {
              await options.output.write(data, 0, bytesRead, written);
              written += bytesRead;
            }
            at += bytesRead;
            bar.update(done + at);
          }
        } finally {
          await handle.close();
        }
        if (partHash.digest('hex') !== chunk.sha256) problems.push(`part ${chunk.name} does not match the manifest (sha256 differs)`);
      }
      done += chunk.size;
      bar.update(done);
      if (options.stopAtFirst && problems.length > 0) return problems;
    }
    if (problems.length === 0 && whole.digest('hex') !== manifest.file.sha256) {
      problems.push(`the rebuilt ${manifest.file.name} does not match the manifest's sha256`);
    }
    return problems;
  } finally {
    bar.finish();
  }
}

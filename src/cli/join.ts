/**
 * `join <manifest.json> [--parts DIR] [--out FILE] [--force]` and the checks `verify` shares:
 * every part's size and sha256, then the whole file's, streamed part by part. `join` writes
 * into a temp file beside the output and renames it into place only once everything matched
 * (or, for `-`, a pipe or a terminal, writes each part into it once that part matched: output.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { WriteChunk } from '../fs/durable-write.js';
import type { Manifest } from '../transfer/manifest.js';
import { CliFailure, messageOf, UsageError } from '../errors.js';
import { parseManifestOrFail, statInputFile, type CliIo } from './io.js';
import { checkEncrypted, decryptInto, plainName, readIdentity, rebuiltWhat } from './decrypt.js';
import { joinFromDiscord } from './join-discord.js';
import { checkOutput, defaultOutput, outputName, reportStream, resolveOutput, writeOutput } from './output.js';
import { ProgressBar } from './progress-bar.js';

export const JOIN_USAGE = 'join <manifest.json> [--parts DIR] [--out FILE|-] [--identity KEYFILE] [--force]';

const READ_BLOCK = 1024 * 1024; // bytes

export async function join(args: string[], io: CliIo): Promise<number> {
  if (args.some((a) => /^--(channel|message)(=|$)/.test(a))) return joinFromDiscord(args, io);
  const { values, positionals } = parseArgs({
    args,
    options: { parts: { type: 'string' }, out: { type: 'string' }, identity: { type: 'string' }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`join takes exactly one manifest: ${JOIN_USAGE}`);
  const identity = values.identity === undefined ? null : await readIdentity(io.cwd, values.identity);
  const { manifest, manifestPath } = await loadManifest(path.resolve(io.cwd, positionals[0]!));
  if (identity) checkEncrypted(manifest, manifestPath);
  const partsDir = path.resolve(io.cwd, values.parts ?? path.dirname(manifestPath));
  const named = identity ? plainName(manifest) : manifest;
  const out = values.out === undefined ? defaultOutput(named, path.dirname(manifestPath), manifestPath) : resolveOutput(io.cwd, values.out);
  const output = await checkOutput(out, values.force);
  let plainBytes = 0;
  await writeOutput(output, io, async (write) => {
    const decryption = identity ? decryptInto(write, manifest, identity) : null;
    const problems = await checkParts(manifest, partsDir, io, {
      output: decryption?.write ?? write,
      stopAtFirst: true,
      label: 'join',
      checkBeforeWriting: output.kind !== 'file',
    });
    if (problems.length > 0) throw new CliFailure(problems.join('\n'));
    await decryption?.end();
    plainBytes = decryption?.written ?? 0;
  });
  reportStream(output, io).write(`rebuilt ${outputName(output)} (${rebuiltWhat(manifest, identity ? plainBytes : null)})\n`);
  return 0;
}

export async function loadManifest(manifestPath: string): Promise<{ manifest: Manifest; manifestPath: string }> {
  await statInputFile(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new CliFailure(`bad manifest ${manifestPath}: not valid JSON (${messageOf(err)})`);
  }
  return { manifest: parseManifestOrFail(json, manifestPath), manifestPath };
}

export interface CheckOptions {
  /** Where the bytes go, in order, as they are read (join); nothing is written without it (verify). */
  output?: WriteChunk | undefined;
  stopAtFirst: boolean;
  label: string;
  /** Read each part once to check it before any of its bytes reach `output` (a pipe, a device, stdout). */
  checkBeforeWriting?: boolean | undefined;
}

/** Reads a part whole, into its own hash and `alsoInto`, and on to `output`; returns its sha256. */
async function readPart(
  file: string,
  size: number,
  io: CliIo,
  alsoInto: Hash[],
  output?: WriteChunk,
  onProgress?: (at: number) => void,
): Promise<string> {
  const partHash = createHash('sha256');
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BLOCK, size));
    for (let at = 0; at < size;) {
      io.signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, bytesRead);
      partHash.update(data);
      for (const hash of alsoInto) hash.update(data);
      // Resolves once every byte is out, so the buffer can be read into again.
      if (output) await output(data);
      at += bytesRead;
      onProgress?.(at);
    }
  } finally {
    await handle.close();
  }
  return partHash.digest('hex');
}

/** Streams every part in order; returns one line per problem, naming the part's file name. */
export async function checkParts(manifest: Manifest, partsDir: string, io: CliIo, options: CheckOptions): Promise<string[]> {
  const problems: string[] = [];
  const whole = createHash('sha256');
  const bar = new ProgressBar(io.stderr, options.label, manifest.file.size);
  let done = 0;
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
        // A stream's reader keeps every byte it gets: a part goes to it only once a first
        // reading matched. The reading that writes is hashed too, so a part changed in between
        // is still caught.
        const firstMatched = !options.checkBeforeWriting || (await readPart(file, chunk.size, io, [])) === chunk.sha256;
        const sha256 = firstMatched ? await readPart(file, chunk.size, io, [whole], options.output, (at) => bar.update(done + at)) : null;
        if (sha256 !== chunk.sha256) problems.push(`part ${chunk.name} does not match the manifest (sha256 differs)`);
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

/** The output file of a join: checked before any work, written beside itself, renamed into place at the end. */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../transfer/manifest.js';
import { CliFailure } from './errors.js';

/** Refuses a directory, and an existing file unless `force`. */
export async function checkOutput(out: string, force: boolean): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new CliFailure(`${out} is a directory; give --out a file path`);
  if (existing && !force) throw new CliFailure(`${out} already exists (use --force to overwrite it)`);
}

/**
 * Runs `fill` on a temp file beside `out` and renames it into place only if `fill` resolves;
 * the temp file is removed whatever happens.
 */
export async function writeAtomically(out: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  let handle: FileHandle | null = null;
  try {
    handle = await open(temp, 'wx').catch((err: Error) => {
      throw new CliFailure(`cannot write in ${path.dirname(out)}: ${err.message}`);
    });
    await fill(handle);
    await handle.datasync();
    await handle.close();
    handle = null;
    await rename(temp, out);
  } finally {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** `dir`/<the manifest's file name>, refusing a name that would land anywhere else. */
export function defaultOutput(manifest: Manifest, dir: string, where: string): string {
  const name = manifest.file.name;
  if (name !== path.basename(name) || name.includes('\\') || name === '.' || name === '..') {
    throw new CliFailure(`bad manifest ${where}: file name ${JSON.stringify(name)} is not a plain file name; give --out`);
  }
  return path.join(dir, name);
}

/**
 * What `send` keeps between runs (README, 'The command line'). An upload link is single use,
 * so the first run stores what going on needs: the grant it redeemed the link for, where tus
 * and the status live, the upload's address once the bot made one, and what the file was
 * (size, mtime, the sha256 of its first MiB), so a second run refuses a file that changed.
 * The grant is a credential: the file is 0600 in a 0700 folder, named by the link's sha256.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { writeFileDurably } from '../fs/durable-write.js';
import { readFully } from '../fs/read-fully.js';
import { CliFailure, errnoCode, messageOf, UsageError } from '../errors.js';

const HEAD_BYTES = 1024 * 1024; // bytes hashed to tell the same file from a changed one

/** What identifies the file a send began with. */
export interface FileIdentity {
  path: string;
  size: number;
  mtime_ms: number;
  head_sha256: string;
}

const stateSchema = z.object({
  version: z.literal(1),
  grant: z.string().min(1),
  files: z.url(),
  status: z.url(),
  upload_url: z.url().nullable(),
  file: z.object({ path: z.string(), size: z.number().int().positive(), mtime_ms: z.number(), head_sha256: z.string() }),
});

export type SendState = z.infer<typeof stateSchema>;

/** `$XDG_STATE_HOME/discord-file-splitter/sends/<sha256 of the link>.json` (XDG's default: ~/.local/state). */
export function statePath(env: NodeJS.ProcessEnv, link: string): string {
  const xdg = env.XDG_STATE_HOME;
  // XDG: a relative XDG_STATE_HOME is invalid and ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.local', 'state');
  return path.join(base, 'discord-file-splitter', 'sends', `${createHash('sha256').update(link).digest('hex')}.json`);
}

/** The state a first run left for this link, or null when there is none. */
export async function readState(file: string): Promise<SendState | null> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw new CliFailure(`cannot read the state of an earlier run (${file}): ${messageOf(err)}`);
  }
  try {
    return stateSchema.parse(JSON.parse(text));
  } catch {
    throw new CliFailure(`the state of an earlier run (${file}) is damaged: remove it and run /send in Discord for a new link`);
  }
}

export async function writeState(file: string, state: SendState): Promise<void> {
  const dir = path.dirname(file);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700); // also when it was there already
    await writeFileDurably(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, clearMode: 0o077 });
  } catch (err) {
    throw new CliFailure(`cannot save this send's state in ${dir} (needed to continue it): ${messageOf(err)}`);
  }
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** What the file is now; a UsageError when it is no readable, non-empty regular file. */
export async function fileIdentity(file: string): Promise<FileIdentity> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = errnoCode(err);
    throw new UsageError(code === 'ENOENT' || code === 'ENOTDIR' ? `no such file: ${file}` : `cannot read ${file}: ${messageOf(err)}`);
  }
  if (!info.isFile()) throw new UsageError(`${file} is not a regular file`);
  if (info.size === 0) throw new UsageError(`${file} is empty: there is nothing to send`);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${messageOf(err)}`);
  }
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, info.size));
    const got = await readFully(handle, head, 0, head.length, 0);
    return { path: file, size: info.size, mtime_ms: info.mtimeMs, head_sha256: createHash('sha256').update(head.subarray(0, got)).digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Why `now` is not the file a send began with, or null when it is the same. */
export function fileChange(began: FileIdentity, now: FileIdentity): string | null {
  const changes = [
    began.size !== now.size ? `its size was ${began.size} bytes and is ${now.size}` : null,
    began.mtime_ms !== now.mtime_ms ? 'it was modified' : null,
    began.size === now.size && began.head_sha256 !== now.head_sha256 ? 'its first MiB differs' : null,
  ].filter((c): c is string => c !== null);
  return changes.length === 0 ? null : changes.join(', ');
}

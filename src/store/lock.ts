/**
 * The advisory lock beside the progress file (TRANSFER_PROGRESS_FORMAT.md, 'Write policy'):
 * `transfer_progress.lock` holding `{pid, hostname, started_at}` of the process that owns the file.
 *
 * Not proper-lockfile: its staleness is time-based (a lock is stale once its mtime is old
 * enough), so a lock left by a SIGKILLed bot would block the next start for that long.
 * A dead holder's lock must be taken over at once, so liveness here is the holder's pid.
 * A pid means something only on the host that wrote it: a lock written under another
 * hostname (another machine, another container on a shared volume) is never taken over.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, LockedError } from '../errors.js';

interface LockInfo {
  pid: number;
  hostname: string;
  started_at: string;
}

export interface HeldLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

/** Bounded: each round either takes the lock, refuses, or removes one dead holder's file. */
const MAX_ATTEMPTS = 10;

/** How long to let a concurrent takeover finish before looking again. */
const TAKEOVER_WAIT_MS = 25;

/** Locks this process holds, so a second open of the same file in-process is refused too. */
const heldHere = new Set<string>();

/** `transfer_progress.json` → `transfer_progress.lock`; any other name gets `.lock` appended. */
export function lockPathFor(progressPath: string): string {
  return progressPath.endsWith('.json') ? `${progressPath.slice(0, -'.json'.length)}.lock` : `${progressPath}.lock`;
}

/** A lock (or takeover guard) as read back: `hostname` is undefined when it names none. */
interface Holder {
  pid: number;
  hostname: string | undefined;
  started_at: string;
}

/** The holder as written, or undefined when the file is not a lock we understand (garbage). */
function parseHolder(text: string): Holder | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname, started_at } = value as Record<string, unknown>;
    // pid 0 and negative pids would signal process groups in isAlive.
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
    return { pid, hostname: typeof hostname === 'string' ? hostname : undefined, started_at: String(started_at) };
  } catch {
    return undefined;
  }
}

/**
 * Written on another host: its pid says nothing here. A holder naming no host was not written
 * by this program (every version wrote one); it is judged by its pid, as before.
 */
function elsewhere(holder: Holder): boolean {
  return holder.hostname !== undefined && holder.hostname !== os.hostname();
}

/** EPERM means the process exists but belongs to someone else: alive. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Creates `lockPath` with its full content in one step: write a private temp file, then
 * hard-link it into place (fails with EEXIST atomically). A plain open('wx') + write would
 * let another process see an empty lock for a moment and take it for garbage.
 * Falls back to open('wx') on file systems without hard links.
 */
async function createExclusive(lockPath: string, content: string): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(temp, content, { flag: 'wx' });
  try {
    await fsp.link(temp, lockPath);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    await fsp.unlink(temp).catch(() => {});
  }
  try {
    await fsp.writeFile(lockPath, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes a dead holder's lock, but only if it still has the content we judged dead: the
 * removal runs under a short-lived `.takeover` guard so two starting processes cannot both
 * remove the lock (the second one would be removing the first one's fresh lock).
 */
async function removeIfUnchanged(lockPath: string, staleContent: string): Promise<void> {
  const guard = `${lockPath}.takeover`;
  const guardContent = JSON.stringify({ pid: process.pid, hostname: os.hostname() });
  if (!(await createExclusive(guard, guardContent))) {
    // Someone else is taking over; if that someone died mid-way on this host, clear its guard.
    const other = await readOrUndefined(guard);
    const holder = other === undefined ? undefined : parseHolder(other);
    if (other !== undefined && (holder === undefined || (!elsewhere(holder) && !isProcessAlive(holder.pid)))) {
      await fsp.unlink(guard).catch(() => {});
    }
    await sleep(TAKEOVER_WAIT_MS);
    return;
  }
  try {
    const current = await readOrUndefined(lockPath);
    if (current === staleContent) await fsp.unlink(lockPath).catch(() => {});
  } finally {
    await fsp.unlink(guard).catch(() => {});
  }
}

/**
 * Takes the lock for `progressPath` or throws LockedError when a live process holds it.
 * A lock whose holder is gone, or whose content is unreadable, is taken over at once.
 */
export async function acquireLock(progressPath: string): Promise<HeldLock> {
  const lockPath = lockPathFor(path.resolve(progressPath));
  if (heldHere.has(lockPath)) {
    throw new LockedError(`${progressPath} is already open in this process (lock file ${lockPath})`);
  }
  // Reserved before the first await: a lock file with our own pid is then never one of ours
  // still being taken, so treating it as a previous run's is safe.
  heldHere.add(lockPath);
  try {
    return await acquire(progressPath, lockPath);
  } catch (error) {
    heldHere.delete(lockPath);
    throw error;
  }
}

async function acquire(progressPath: string, lockPath: string): Promise<HeldLock> {
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), started_at: new Date().toISOString() };
  const content = `${JSON.stringify(info)}\n`;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createExclusive(lockPath, content)) return makeHeld(lockPath, info, content);
    const existing = await readOrUndefined(lockPath);
    if (existing === undefined) continue; // released between our two steps: try again
    const holder = parseHolder(existing);
    if (holder !== undefined && elsewhere(holder)) {
      throw new LockedError(
        `${progressPath} is locked by a discord-file-splitter on another host (${holder.hostname}, pid ${holder.pid}, ` +
          `since ${holder.started_at}); a lock from another host is never taken over, since its pid cannot be checked ` +
          `from here. If no bot runs there any more, remove ${lockPath} by hand, then start again`,
      );
    }
    // Our own pid in a lock we do not hold is a previous run that had the same pid
    // (pid 1 in a container, for instance): that run is gone.
    if (holder !== undefined && holder.pid !== process.pid && isProcessAlive(holder.pid)) {
      throw new LockedError(
        `another discord-file-splitter (pid ${holder.pid} on ${holder.hostname ?? 'this host'}, since ${holder.started_at}) ` +
          `is using ${progressPath}; stop it first (lock file ${lockPath})`,
      );
    }
    await removeIfUnchanged(lockPath, existing);
  }
  throw new LockedError(`could not take the lock ${lockPath} for ${progressPath} after ${MAX_ATTEMPTS} attempts${await guardHint(lockPath)}`);
}

/** Names a takeover guard left by another host, which only a person can judge and remove. */
async function guardHint(lockPath: string): Promise<string> {
  const guard = `${lockPath}.takeover`;
  const text = await readOrUndefined(guard).catch(() => undefined);
  const holder = text === undefined ? undefined : parseHolder(text);
  if (holder === undefined || !elsewhere(holder)) return '';
  return `: a discord-file-splitter on another host (${holder.hostname}, pid ${holder.pid}) is taking it over or was cut short doing so; if no bot runs there any more, remove ${guard} by hand`;
}

function makeHeld(lockPath: string, info: LockInfo, content: string): HeldLock {
  let released = false;
  return {
    path: lockPath,
    info,
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(lockPath);
      // Only remove it while it is still ours: if another process took it over meanwhile
      // (it judged us dead), removing it would unlock that process's file.
      const current = await readOrUndefined(lockPath);
      if (current === content) await fsp.unlink(lockPath).catch(() => {});
    },
  };
}

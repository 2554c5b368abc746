/**
 * The one way this project replaces a file: the progress store, the local sink's parts and
 * manifest, and the CLI's `join` output all go through writeFileDurably.
 *
 * Why not write-file-atomic: it issues one write and ignores how many bytes it took
 * (`bytesWritten`), so near a full disk it fsyncs and renames a truncated file into place.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { type DurableStep, DurableWriteError, errnoCode, messageOf } from '../errors.js';

/** Hands one chunk to the file; resolves once every byte of it is written. */
export type WriteChunk = (chunk: Uint8Array) => Promise<void>;

/**
 * What to write: all at once, chunk by chunk (so a large part is never held whole), or a
 * producer that pushes chunks as they arrive (a download).
 */
export type DurableContent = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | ((write: WriteChunk) => Promise<void>);

/** Unlinks the version a write replaced; never rejects. */
export type DropPrevious = () => Promise<void>;

/** The file-system calls a durable write makes, passed in so tests can fail each step. */
export interface DurableFs {
  open(file: string, flags: string, mode?: number): Promise<FileHandle>;
  link(existing: string, name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  lstat(file: string): Promise<Stats>;
  realpath(file: string): Promise<string>;
}

/** Node's calls, looked up at call time so a spy on `fs.promises` reaches every step. */
export const nodeFs: DurableFs = {
  open: (file, flags, mode) => fsp.open(file, flags, mode),
  link: (existing, name) => fsp.link(existing, name),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
  lstat: (file) => fsp.lstat(file),
  realpath: (file) => fsp.realpath(file),
};

export interface DurableWriteOptions {
  /** Replace a file already at the path (default). `false`: fail with EEXIST instead, decided at the rename. */
  replace?: boolean;
  /**
   * Return the unlink of the replaced version instead of running it, for a caller that
   * acknowledges the write first (the store).
   */
  deferDrop?: boolean;
  /** The mode of a file created anew (before the umask); a replaced file keeps its own. Default 0o666. */
  mode?: number;
  /** Permission bits cleared from a replaced file's mode (0o077: only its owner may read it from now on). Default none. */
  clearMode?: number;
  fs?: DurableFs;
}

const PREVIOUS_INFIX = '.previous-';
let previousCount = 0;

/** `.<name>.<pid>.<8 hex>.tmp`: hidden, so `cat <name>.part*` never picks one up. */
function tempName(base: string): string {
  return `.${base}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Whether `entry`, in the directory of the file named `base`, is a temp file or replaced version a killed writer left. */
export function isLeftoverName(base: string, entry: string): boolean {
  if (entry.startsWith(`.${base}.`)) return /^\d+\.[0-9a-f]{8}\.tmp$/.test(entry.slice(base.length + 2));
  if (entry.startsWith(`${base}${PREVIOUS_INFIX}`)) return /^\d+-\d+$/.test(entry.slice(base.length + PREVIOUS_INFIX.length));
  return false;
}

/**
 * Writes `content` to `file` so that the path holds either the old version or the whole new
 * one, durably. The contract, step by step (a failure names its step in DurableWriteError;
 * up to `rename` the old file is untouched and the temp file is removed):
 *
 * 1. open: a new temp file beside the real one (a symlink at `file` is followed: the link
 *    stays, the file it names is replaced), with the replaced file's mode and owner.
 * 2. write: every chunk, looping until every byte is written (a write may take fewer bytes
 *    than it was given; one that takes none fails). An error of the content itself passes
 *    through as it is.
 * 3. fsync the temp file.
 * 4. size: the temp file holds exactly the bytes written.
 * 5. rename over the real file; with `replace: false`, a hard link that fails if the name is
 *    taken (where hard links are not supported: a check, then the rename).
 * 6. dir-fsync: the directory, so the rename survives a power loss (skipped where a
 *    directory cannot be fsynced).
 * 7. Only then is the replaced version dropped (see keepPrevious).
 *
 * One writer per file at a time is the caller's business (the store has its queue).
 */
export async function writeFileDurably(file: string, content: DurableContent, options: DurableWriteOptions = {}): Promise<DropPrevious | undefined> {
  const fs = options.fs ?? nodeFs;
  const target = await fs.realpath(file).catch(() => file);
  const existing = options.replace === false ? undefined : await fs.lstat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    throw new DurableWriteError(file, 'open', 'the path is taken by something other than a regular file (a directory, a device, a pipe)');
  }
  const temp = path.join(path.dirname(target), tempName(path.basename(target)));
  let previous: string | undefined;
  try {
    await writeTemp(fs, file, temp, content, existing, options.mode ?? 0o666, options.clearMode ?? 0);
    if (existing !== undefined) previous = await keepPrevious(fs, target);
    await step(file, 'rename', () => (options.replace === false ? linkIntoPlace(fs, temp, target) : fs.rename(temp, target)));
  } catch (err) {
    if (previous !== undefined) await fs.unlink(previous).catch(() => {});
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
  // A failed directory fsync leaves the replaced version's second name for the store's next open to clean.
  await syncDirectory(fs, file, path.dirname(target));
  const kept = previous;
  const drop = kept === undefined ? undefined : () => fs.unlink(kept).catch(() => {});
  if (options.deferDrop) return drop;
  await drop?.();
  return undefined;
}

/** Steps 1-4: the temp file, complete and synced. */
async function writeTemp(
  fs: DurableFs,
  file: string,
  temp: string,
  content: DurableContent,
  existing: Stats | undefined,
  mode: number,
  clearMode: number,
): Promise<void> {
  const handle = await step(file, 'open', async () => {
    const opened = await fs.open(temp, 'wx', existing ? existing.mode & 0o777 & ~clearMode : mode);
    if (existing)
      await copyModeAndOwner(opened, existing, clearMode).catch(async (err: unknown) => {
        await opened.close().catch(() => {});
        throw err;
      });
    return opened;
  });
  try {
    let written = 0;
    await eachChunk(content, async (chunk) => {
      await step(file, 'write', () => writeAll(handle, chunk, written));
      written += chunk.length;
    });
    await step(file, 'fsync', () => handle.sync());
    const { size } = await step(file, 'size', () => handle.stat());
    if (size !== written) throw new DurableWriteError(file, 'size', `the temp file holds ${size} bytes, ${written} were written`);
  } finally {
    await handle.close().catch(() => {});
  }
}

async function eachChunk(content: DurableContent, write: WriteChunk): Promise<void> {
  if (typeof content === 'string') return write(Buffer.from(content));
  if (content instanceof Uint8Array) return write(content);
  if (typeof content === 'function') return content(write);
  for await (const chunk of content) await write(chunk);
}

/**
 * Writes every byte of `data` at `position` (`null`: at the current offset, for a pipe or a
 * device), however many calls it takes. Bounded: every call takes at least one byte or throws.
 */
export async function writeAll(handle: FileHandle, data: Uint8Array, position: number | null): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position === null ? null : position + done);
    if (bytesWritten === 0) throw new Error(`the write took none of ${data.length - done} bytes`);
    done += bytesWritten;
  }
}

/** Only root may give a file away; anyone else keeps the new version as their own. */
const CHOWN_NOT_PERMITTED = new Set(['EPERM', 'EINVAL', 'ENOSYS', 'ENOTSUP']);

/** So a progress file an operator made 0600 (or gave to another user) stays so; `clearMode` bits excepted. */
async function copyModeAndOwner(handle: FileHandle, existing: Stats, clearMode: number): Promise<void> {
  await handle.chmod(existing.mode & 0o7777 & ~clearMode);
  if (existing.uid === process.geteuid?.() && existing.gid === process.getegid?.()) return;
  await handle.chown(existing.uid, existing.gid).catch((err: unknown) => {
    if (!CHOWN_NOT_PERMITTED.has(errnoCode(err) ?? '')) throw err;
  });
}

/**
 * Gives the version about to be replaced a second name, unlinked only after the write.
 * When a rename replaces a file's last link, ext4 frees the old file's blocks inside the
 * rename, and the directory fsync then waits for that too; freeing them in a separate unlink
 * afterwards made a 24 MB store write ~30 % faster (BENCHMARKS.md). Where hard links are not
 * supported the rename simply replaces the file.
 */
async function keepPrevious(fs: DurableFs, target: string): Promise<string | undefined> {
  const previous = `${target}${PREVIOUS_INFIX}${process.pid}-${previousCount++}`;
  return fs.link(target, previous).then(
    () => previous,
    () => undefined,
  );
}

/** link(2) refuses a taken name, which rename(2) would replace; these codes mean no hard links here. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Puts `temp` at `target` only if nothing is there: no check-then-act gap where hard links exist. */
async function linkIntoPlace(fs: DurableFs, temp: string, target: string): Promise<void> {
  try {
    await fs.link(temp, target);
  } catch (err) {
    if (!NO_HARD_LINKS.has(errnoCode(err) ?? '')) throw err;
    // FAT and some network shares: a file created between this check and the rename is replaced.
    const taken = await fs.lstat(target).then(
      () => true,
      () => false,
    );
    if (taken) throw Object.assign(new Error(`${target} already exists`), { code: 'EEXIST' });
    await fs.rename(temp, target);
    return;
  }
  await fs.unlink(temp).catch(() => {});
}

/** A directory fsync that fails with these means the platform cannot do it, not that the disk failed. */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'EBADF', 'EACCES']);

async function syncDirectory(fs: DurableFs, file: string, dir: string): Promise<void> {
  // Windows cannot open a directory; there the file itself is synced and that is all.
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) throw failure(file, 'dir-fsync', err);
  } finally {
    await handle.close().catch(() => {});
  }
}

async function step<T>(file: string, name: DurableStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw failure(file, name, err);
  }
}

function failure(file: string, name: DurableStep, err: unknown): DurableWriteError {
  if (err instanceof DurableWriteError) return err;
  return new DurableWriteError(file, name, messageOf(err), { cause: err, errno: errnoCode(err) });
}

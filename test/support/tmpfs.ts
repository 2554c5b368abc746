/**
 * A small tmpfs of the test's own, to fill it up, make it read-only or immutable: the disk
 * conditions a progress file meets in real life. Mounting needs root (CI runs as root);
 * where it is not permitted `mountTmpfs` says why, and the test skips with that reason.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'vitest';

const run = promisify(execFile);
const COMMAND_TIMEOUT_MS = 10_000;
const PAGE = 4096; // bytes: tmpfs hands out whole pages

export interface Tmpfs {
  dir: string;
  /**
   * Appends to `filler` until the file system is full; call again to take what was freed
   * since. With `leaveBytes`, then gives that much back (whole pages: at least that much is free).
   */
  fill(filler?: string, leaveBytes?: number): Promise<void>;
  /** Remounts read-only (EROFS) or read-write again. */
  readOnly(on: boolean): Promise<void>;
  /** `chattr +i` on the folder (new files and renames in it fail with EPERM), or `-i`. */
  immutable(on: boolean): Promise<void>;
  /** Undoes every condition and unmounts; safe to call twice. */
  unmount(): Promise<void>;
}

function reasonOf(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  return stderr || (error instanceof Error ? error.message : String(error));
}

/** A mounted tmpfs of `sizeBytes`, or the reason it cannot be mounted here. */
export async function mountTmpfs(sizeBytes: number): Promise<Tmpfs | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'tmpfs mounts are Linux only' };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { timeout: COMMAND_TIMEOUT_MS });
  } catch (error) {
    await fs.rmdir(dir).catch(() => {});
    return { skip: `cannot mount a tmpfs here (needs root): ${reasonOf(error)}` };
  }
  let mounted = true;
  const tmpfs: Tmpfs = {
    dir,
    async fill(filler = path.join(dir, 'filler'), leaveBytes = 0) {
      const handle = await fs.open(filler, 'a');
      try {
        // Bounded: the file system holds at most sizeBytes / PAGE pages.
        for (let i = 0; i <= sizeBytes / PAGE; i++) await handle.write(Buffer.alloc(PAGE, 1));
        throw new Error(`${dir} did not fill up after ${sizeBytes} bytes`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        if (leaveBytes > 0) {
          const { size } = await handle.stat();
          await handle.truncate(Math.max(0, Math.floor(size / PAGE) * PAGE - Math.ceil(leaveBytes / PAGE) * PAGE));
        }
      } finally {
        await handle.close();
      }
    },
    async readOnly(on) {
      // A remount is refused (EBUSY) while a file is open for writing: the bot's writes are brief.
      for (let attempt = 1; ; attempt++) {
        try {
          await run('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir], { timeout: COMMAND_TIMEOUT_MS });
          return;
        } catch (error) {
          if (attempt >= 50) throw error;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
    async immutable(on) {
      await run('chattr', [on ? '+i' : '-i', dir], { timeout: COMMAND_TIMEOUT_MS });
    },
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await tmpfs.immutable(false).catch(() => {});
      await run('umount', [dir], { timeout: COMMAND_TIMEOUT_MS }).catch(() => run('umount', ['-l', dir], { timeout: COMMAND_TIMEOUT_MS }));
      await fs.rmdir(dir).catch(() => {});
    },
  };
  return tmpfs;
}

/** Whether `chattr` works on this tmpfs (Linux 6.0+ and the e2fsprogs tool); the reason if not. */
export async function immutableSupported(tmpfs: Tmpfs): Promise<string | undefined> {
  try {
    await tmpfs.immutable(true);
    await tmpfs.immutable(false);
    return undefined;
  } catch (error) {
    return `chattr +i does not work here: ${reasonOf(error)}`;
  }
}

/** A tmpfs of `sizeBytes` for one test: its directory, unmounted when the test ends; the test is skipped with the reason where mounting is not permitted. */
export async function tmpfsForTest(context: TestContext, sizeBytes: number): Promise<string> {
  const mounted = await mountTmpfs(sizeBytes);
  if ('skip' in mounted) context.skip(mounted.skip);
  // Not in afterEach: a directory removed while still mounted fails with EBUSY.
  context.onTestFinished(() => mounted.unmount());
  return mounted.dir;
}

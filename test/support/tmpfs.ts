/**
 * A small tmpfs mounted for one test, so a disk can be filled for real. Mounting needs root
 * (CI runs as root); where it is not permitted the test is skipped with the reason.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'vitest';

const run = promisify(execFile);

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages) and returns its directory; unmounted when the test ends. */
export async function mountTmpfs(context: TestContext, sizeBytes: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dfs-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { timeout: 10_000 });
  } catch (err) {
    await rmdir(dir);
    const reason = ((err as { stderr?: string }).stderr || (err as Error).message).trim();
    context.skip(`mounting a tmpfs is not permitted here (${reason}); run as root to fill a disk for real`);
  }
  // Not in afterEach: a directory removed while still mounted fails with EBUSY.
  context.onTestFinished(async () => {
    await run('umount', [dir], { timeout: 10_000 }).catch(() => run('umount', ['-l', dir], { timeout: 10_000 }));
    await rmdir(dir);
  });
  return dir;
}

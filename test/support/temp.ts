/**
 * Temporary directories: `tempDir()` is removed after the test that asked for it,
 * `tempDirForFile()` (for what a `beforeAll` sets up) after the test file's last test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';

const created: string[] = [];
const forFile: string[] = [];

const removeAll = (dirs: string[]) => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));

afterEach(() => removeAll(created));
// Registered when a test file imports this module, so it runs after that file's own afterAll hooks.
afterAll(() => removeAll(forFile));

export async function tempDir(prefix = 'dfs-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export async function tempDirForFile(prefix = 'dfs-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  forFile.push(dir);
  return dir;
}

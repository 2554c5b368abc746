/**
 * resolveLocalSource keeps /split inside FILES_ROOT: a path whose first segment is `..`
 * leaves it, a file whose name merely starts with `..` does not.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveLocalSource } from '../../src/transfer/source.js';
import { tempDir } from '../support/temp.js';

const MAX = 1024 * 1024; // bytes

async function filesRoot(): Promise<{ work: string; root: string }> {
  const work = await tempDir();
  const root = path.join(work, 'files');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await writeFile(path.join(work, 'secret.bin'), 'outside');
  return { work, root };
}

describe('resolveLocalSource confinement', () => {
  it.each(['..foo.bin', '...bin', 'sub/..foo.bin', '...hidden'])('GIVEN a file named %j inside FILES_ROOT THEN it is accepted', async (name) => {
    const { root } = await filesRoot();
    await writeFile(path.join(root, name), 'inside');
    const source = await resolveLocalSource(root, name, MAX);
    expect(source.relPath).toBe(name);
    expect(source.size).toBe(6);
  });

  it.each(['../secret.bin', 'sub/../../secret.bin', '..'])('GIVEN %j THEN it is refused as outside the files folder', async (name) => {
    const { root } = await filesRoot();
    await expect(resolveLocalSource(root, name, MAX)).rejects.toThrow(/outside the files folder/);
  });

  it('GIVEN a symlink named ..link that points outside THEN it is refused', async () => {
    const { work, root } = await filesRoot();
    await symlink(path.join(work, 'secret.bin'), path.join(root, '..link'));
    await expect(resolveLocalSource(root, '..link', MAX)).rejects.toThrow(/points outside the files folder/);
  });
});

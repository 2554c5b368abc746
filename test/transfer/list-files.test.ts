/** Autocomplete of /split's path offers exactly the files /split accepts. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, resolveLocalSource } from '../../src/transfer/source.js';

describe('listFiles', () => {
  let work: string;
  let root: string;
  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-list-'));
    root = path.join(work, 'files');
    await fs.mkdir(path.join(root, 'sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'data.bin'), 'data');
    await fs.writeFile(path.join(root, 'sub', 'deep.bin'), 'deep');
    await fs.writeFile(path.join(root, 'empty.bin'), '');
    await fs.writeFile(path.join(root, 'two\nlines.bin'), 'x');
    await fs.writeFile(path.join(work, 'outside.bin'), 'secret');
    await fs.symlink('data.bin', path.join(root, 'link-in.bin'));
    await fs.symlink(path.join('..', 'outside.bin'), path.join(root, 'link-out.bin'));
    await fs.symlink('empty.bin', path.join(root, 'link-empty.bin'));
    await fs.symlink('nowhere.bin', path.join(root, 'link-dangling.bin'));
    await fs.symlink('sub', path.join(root, 'link-dir'));
  });
  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  it('GIVEN empty files, names with a newline and symlinks THEN it offers exactly what /split accepts', async () => {
    const offered = await listFiles(root, '');
    expect(offered.sort()).toEqual(['data.bin', 'link-in.bin', 'sub/deep.bin']);
    for (const rel of offered) await expect(resolveLocalSource(root, rel, 1_000)).resolves.toMatchObject({ relPath: rel });
    for (const refused of ['empty.bin', 'link-out.bin', 'link-empty.bin', 'link-dangling.bin']) {
      await expect(resolveLocalSource(root, refused, 1_000)).rejects.toThrow();
    }
  });

  it('GIVEN a query THEN only paths containing it are offered, whatever the case', async () => {
    expect(await listFiles(root, 'LINK')).toEqual(['link-in.bin']);
    expect(await listFiles(root, 'deep')).toEqual(['sub/deep.bin']);
  });
});

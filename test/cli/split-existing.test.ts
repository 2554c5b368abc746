/**
 * `split` into a folder that already holds parts of the same name: new parts beside old ones
 * make `cat <name>.part* > <name>` rebuild a corrupt file, so split refuses unless --force,
 * which removes the old set first.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { runCli } from './run-cli.js';
import { sha256 } from '../support/hash.js';

/** What `cat <name>.part* > <name>` rebuilds: the parts in shell glob (sorted) order. */
async function catParts(dir: string, name: string): Promise<Buffer> {
  const parts = (await readdir(dir)).filter((n) => n.startsWith(`${name}.part`)).sort();
  return Buffer.concat(await Promise.all(parts.map((n) => readFile(path.join(dir, n)))));
}

/** A folder holding the split of a 500 KB `v.bin` in 100 KB parts. */
async function earlierSplit(): Promise<{ dir: string; out: string; source: string; before: string[] }> {
  const dir = await tempDir();
  const source = path.join(dir, 'v.bin');
  await writeSeededFile(source, 500_000, 1);
  const out = path.join(dir, 'out');
  const first = await runCli(['split', source, '--chunk-size', '100KB', '--out', out]);
  expect(first.code).toBe(0);
  const before = (await readdir(out)).sort();
  expect(before).toHaveLength(6);
  return { dir, out, source, before };
}

describe('split into a folder with an earlier split of the same name', () => {
  it('GIVEN parts and a manifest of v.bin THEN a split of a smaller v.bin is refused naming them, and the folder is unchanged', async () => {
    const { out, source, before } = await earlierSplit();
    const old = await catParts(out, 'v.bin');
    await writeSeededFile(source, 200_000, 2);
    const second = await runCli(['split', source, '--chunk-size', '100KB', '--out', out]);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `error: ${out} already holds an earlier split of v.bin: v.bin.part001 … v.bin.part005 (5 parts), v.bin.manifest.json; ` +
        'new parts beside them would make `cat v.bin.part* > v.bin` rebuild a corrupt file (use --force to remove them first)\n',
    );
    expect((await readdir(out)).sort()).toEqual(before);
    expect((await catParts(out, 'v.bin')).equals(old)).toBe(true);
  });

  it('GIVEN --force THEN the old set is removed first: cat of the parts is the new file, and other files stay', async () => {
    const { out, source } = await earlierSplit();
    await writeFile(path.join(out, 'notes.txt'), 'mine');
    await writeFile(path.join(out, 'w.bin.part001'), 'another split');
    const sha = await writeSeededFile(source, 200_000, 2);
    const second = await runCli(['split', source, '--chunk-size', '100KB', '--out', out, '--force']);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['notes.txt', 'v.bin.manifest.json', 'v.bin.part001', 'v.bin.part002', 'w.bin.part001']);
    expect(sha256(await catParts(out, 'v.bin'))).toBe(sha);
    const manifest = JSON.parse(await readFile(path.join(out, 'v.bin.manifest.json'), 'utf8')) as { file: { size: number } };
    expect(manifest.file.size).toBe(200_000);
  });

  it.each([
    ['only a manifest', ['v.bin.manifest.json'], 'v.bin.manifest.json'],
    ['parts of another width', ['v.bin.part0001', 'v.bin.part0002'], 'v.bin.part0001, v.bin.part0002 (2 parts)'],
  ])('GIVEN %s of v.bin THEN refused naming it', async (_label, names, named) => {
    const dir = await tempDir();
    const source = path.join(dir, 'v.bin');
    await writeSeededFile(source, 1000, 3);
    const out = path.join(dir, 'out');
    await mkdir(out);
    for (const name of names) await writeFile(path.join(out, name), 'old');
    const run = await runCli(['split', source, '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`already holds an earlier split of v.bin: ${named};`);
    expect((await readdir(out)).sort()).toEqual(names);
  });

  it('GIVEN files of other names THEN the split goes ahead and leaves them', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'v.bin');
    await writeSeededFile(source, 1000, 4);
    const out = path.join(dir, 'out');
    await mkdir(out);
    const others = ['v.bin', 'vv.bin.part001', 'v.bin.manifest.json.bak', 'w.bin.manifest.json'];
    for (const name of others) await writeFile(path.join(out, name), 'mine');
    const run = await runCli(['split', source, '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([...others, 'v.bin.manifest.json', 'v.bin.part001'].sort());
  });

  it.each([[[] as string[]], [['--force']]])(
    'GIVEN files that are no parts but match v.bin.part* (extra args %j) THEN refused naming them: cat would pick them up, and --force does not remove them',
    async (extra) => {
      const { out, source, before } = await earlierSplit();
      await writeFile(path.join(out, 'v.bin.part001.bak'), 'mine');
      await writeFile(path.join(out, 'v.bin.partial'), 'mine');
      const run = await runCli(['split', source, '--chunk-size', '100KB', '--out', out, ...extra]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `error: ${out} holds v.bin.part001.bak, v.bin.partial, which are no parts of a split but \`cat v.bin.part* > v.bin\` would pick up; move them away first\n`,
      );
      expect((await readdir(out)).sort()).toEqual([...before, 'v.bin.part001.bak', 'v.bin.partial'].sort());
    },
  );
});

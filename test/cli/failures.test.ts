import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { runCli } from './run-cli.js';

/** A split of 4 × 1000 bytes + 1 into `<dir>/parts`. */
async function splitFixture() {
  const dir = await tempDir();
  const source = path.join(dir, 'photo.raw');
  await writeSeededFile(source, 4001, 9);
  const parts = path.join(dir, 'parts');
  const run = await runCli(['split', source, '--chunk-size', '1000', '--out', parts]);
  expect(run.code).toBe(0);
  return { dir, source, parts, manifest: path.join(parts, 'photo.raw.manifest.json') };
}

describe('CLI join and verify refuse bad parts', () => {
  it('GIVEN one flipped byte in a part THEN join and verify exit 1 naming that part, and join leaves no output file', async () => {
    const { dir, parts, manifest } = await splitFixture();
    const bad = path.join(parts, 'photo.raw.part003');
    const bytes = await readFile(bad);
    bytes[17] = bytes[17]! ^ 0x01;
    await writeFile(bad, bytes);

    const out = path.join(dir, 'rebuilt.raw');
    const joinRun = await runCli(['join', manifest, '--out', out]);
    expect(joinRun.code).toBe(1);
    expect(joinRun.stderr).toMatch(/^error: part photo\.raw\.part003 does not match/m);
    expect(await readdir(dir)).toEqual(['parts', 'photo.raw']);

    const verifyRun = await runCli(['verify', manifest]);
    expect(verifyRun.code).toBe(1);
    expect(verifyRun.stderr).toContain('photo.raw.part003');
    expect(verifyRun.stderr).not.toContain('part002');
  });

  it('GIVEN a deleted part THEN join and verify name the missing part and nothing is written', async () => {
    const { parts, manifest } = await splitFixture();
    await rm(path.join(parts, 'photo.raw.part002'));
    const joinRun = await runCli(['join', manifest]);
    expect(joinRun.code).toBe(1);
    expect(joinRun.stderr).toMatch(/missing part photo\.raw\.part002/);
    expect((await readdir(parts)).filter((n) => !n.includes('.part') && !n.endsWith('.json'))).toEqual([]);

    const verifyRun = await runCli(['verify', manifest, '--parts', parts]);
    expect(verifyRun.code).toBe(1);
    expect(verifyRun.stderr).toMatch(/missing part photo\.raw\.part002/);
  });

  it('GIVEN a join onto an existing file THEN refused without --force, done with it', async () => {
    const { dir, manifest } = await splitFixture();
    const out = path.join(dir, 'photo.raw');
    expect((await runCli(['join', manifest, '--out', out])).stderr).toMatch(/already exists/);
    expect((await runCli(['join', manifest, '--out', out, '--force'])).code).toBe(0);
  });

  it('GIVEN a manifest that is not JSON THEN exit 1 with a clear message', async () => {
    const dir = await tempDir();
    const manifest = path.join(dir, 'x.manifest.json');
    await writeFile(manifest, '{ nope');
    const run = await runCli(['verify', manifest]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: bad manifest .*x\.manifest\.json: not valid JSON/);
  });
});

describe('CLI refuses bad input', () => {
  it('GIVEN an empty file THEN exit 1 "is empty"', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'empty.bin');
    await writeFile(file, '');
    const run = await runCli(['split', file, '--out', path.join(dir, 'o')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: ${file} is empty\n`);
  });

  it('GIVEN a directory THEN exit 1 "is a directory"', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'sub'));
    const run = await runCli(['split', path.join(dir, 'sub')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: ${path.join(dir, 'sub')} is a directory\n`);
  });

  it('GIVEN a missing path THEN exit 1 "no such file"', async () => {
    const dir = await tempDir();
    const run = await runCli(['split', path.join(dir, 'ghost.bin')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: no such file: ${path.join(dir, 'ghost.bin')}\n`);
  });

  it.each([
    [['split', 'x', '--bogus']],
    [['split', 'x', '--chunk-size', 'ten']],
    [['split', 'x', '--chunk-size', '0']],
    [['frobnicate']],
    [['join', 'm.json', '--channel', '1', '--message', '2']],
  ])('GIVEN %j THEN usage error, exit 2', async (args) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain('usage:');
  });
});

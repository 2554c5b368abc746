import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSeededFile } from '../support/random-file.js';
import { sha256File } from '../support/hash.js';
import { tempDir } from '../support/temp.js';
import { runCli } from './run-cli.js';

const CHUNK = 64 * 1024; // bytes, --chunk-size 64KiB

describe('CLI split → join round trip', () => {
  it.each([
    ['1 byte', 1, 1],
    ['chunk − 1', CHUNK - 1, 1],
    ['exactly one chunk', CHUNK, 1],
    ['chunk + 1', CHUNK + 1, 2],
    ['3 × chunk', 3 * CHUNK, 3],
    ['3 × chunk + 1', 3 * CHUNK + 1, 4],
  ])('GIVEN a file of %s (%i bytes) THEN split makes %i part(s) and join rebuilds the same bytes', async (_label, size, parts) => {
    const dir = await tempDir();
    const source = path.join(dir, 'data set.bin');
    const sha256 = await writeSeededFile(source, size, size + 11);
    const out = path.join(dir, 'parts');

    const splitRun = await runCli(['split', source, '--chunk-size', '64KiB', '--out', out]);
    expect(splitRun.stderr).toBe('');
    expect(splitRun.code).toBe(0);
    expect(splitRun.stdout).toContain(sha256);
    const names = (await readdir(out)).sort();
    expect(names).toEqual([
      'data_set.bin.manifest.json',
      ...Array.from({ length: parts }, (_, i) => `data_set.bin.part${String(i + 1).padStart(3, '0')}`),
    ]);

    const joined = path.join(dir, 'joined.bin');
    const joinRun = await runCli(['join', path.join(out, 'data_set.bin.manifest.json'), '--out', joined]);
    expect(joinRun.stderr).toBe('');
    expect(joinRun.code).toBe(0);
    expect(await sha256File(joined)).toBe(sha256);
  });

  it('GIVEN a file named отчёт.pdf THEN split names its parts and manifest after the transfer id, and join rebuilds it', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'отчёт.pdf');
    const sha256 = await writeSeededFile(source, 2 * CHUNK, 31);
    const out = path.join(dir, 'parts');

    const splitRun = await runCli(['split', source, '--chunk-size', '64KiB', '--out', out]);
    expect(splitRun.code).toBe(0);
    const names = (await readdir(out)).sort();
    const manifest = names.find((n) => n.endsWith('.manifest.json')) ?? '';
    const name = /^(upload_[a-z0-9]+\.pdf)\.manifest\.json$/.exec(manifest)?.[1];
    expect(name, names.join(', ')).toBeDefined();
    expect(names).toEqual([manifest, `${name}.part001`, `${name}.part002`]);

    const joined = path.join(dir, 'joined.pdf');
    const joinRun = await runCli(['join', path.join(out, manifest), '--out', joined]);
    expect(joinRun.code).toBe(0);
    expect(await sha256File(joined)).toBe(sha256);
  });

  it('GIVEN a 50 MiB file and the default part size THEN 8 MB parts round-trip, verify passes, and join defaults beside the manifest', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'big.bin');
    const sha256 = await writeSeededFile(source, 50 * 1024 * 1024, 50);
    const out = path.join(dir, 'out');

    const splitRun = await runCli(['split', source, '--out', out]);
    expect(splitRun.code).toBe(0);
    const names = (await readdir(out)).filter((n) => n.includes('.part')).sort();
    expect(names).toHaveLength(7); // ceil(52428800 / 8000000)

    const manifest = path.join(out, 'big.bin.manifest.json');
    const verifyRun = await runCli(['verify', manifest]);
    expect(verifyRun.code).toBe(0);
    expect(verifyRun.stdout).toContain('ok: 7 part(s)');

    const joinRun = await runCli(['join', manifest]);
    expect(joinRun.code).toBe(0);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(sha256);
  });
});

/**
 * The command line with age (README, 'Encryption'): `split --recipient`, `join --identity`,
 * `verify` without a key, and the failures a recipient can meet, each a clear error that
 * leaves no output behind.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGE_BINARY, ageDecrypt, newIdentity } from '../support/age.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { runCli } from './run-cli.js';
import { sha256 } from '../support/hash.js';

/** 300,000 bytes split in parts of 100,000 for two recipients; the second key is nobody's. */
async function encryptedSplit() {
  const dir = await tempDir();
  const source = path.join(dir, 'notes.txt');
  const sourceSha = await writeSeededFile(source, 300_000, 21);
  const alice = await newIdentity(dir, 'alice');
  const bob = await newIdentity(dir, 'bob');
  const stranger = await newIdentity(dir, 'stranger');
  const parts = path.join(dir, 'parts');
  const run = await runCli(['split', source, '--chunk-size', '100000', '--out', parts, '--recipient', alice.recipient, '--recipient', bob.recipient]);
  expect(run.code, run.stderr).toBe(0);
  return { dir, source, sourceSha, alice, bob, stranger, parts, manifest: path.join(parts, 'notes.txt.age.manifest.json') };
}

describe('GIVEN a split with --recipient', () => {
  it('GIVEN the parts THEN verify passes without a key, join --identity rebuilds the source, and age decrypts cat of the parts', async () => {
    const { dir, sourceSha, alice, bob, parts, manifest } = await encryptedSplit();
    expect((await readdir(parts)).sort()).toEqual([
      'notes.txt.age.manifest.json',
      'notes.txt.age.part001',
      'notes.txt.age.part002',
      'notes.txt.age.part003',
      'notes.txt.age.part004',
    ]);
    const verify = await runCli(['verify', manifest]);
    expect(verify.code, verify.stderr).toBe(0);

    const join = await runCli(['join', manifest, '--identity', bob.file], {}, { cwd: dir });
    expect(join.code, join.stderr).toBe(0);
    expect(join.stdout).toMatch(/300000 bytes decrypted and authenticated/);
    // The default output is the plaintext's own name, beside the manifest.
    expect(sha256(await readFile(path.join(parts, 'notes.txt')))).toBe(sourceSha);

    // Without --identity, join rebuilds the age file itself and says how to open it.
    const raw = await runCli(['join', manifest, '--out', path.join(dir, 'notes.txt.age')]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout).toContain('add --identity KEYFILE');
    if (AGE_BINARY !== null) expect(sha256(await ageDecrypt(path.join(dir, 'notes.txt.age'), alice.file))).toBe(sourceSha);
  });

  it('GIVEN a key that opens nothing THEN join fails naming the key file and writes nothing', async () => {
    const { dir, stranger, manifest } = await encryptedSplit();
    const before = (await readdir(dir)).sort();
    const out = path.join(dir, 'out.txt');
    const run = await runCli(['join', manifest, '--identity', stranger.file, '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: the key in .*stranger\.txt does not open this file/);
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('GIVEN a flipped byte in part 2, even with the manifest rewritten to match it, THEN join --identity fails naming part 2 and writes nothing', async () => {
    const { dir, bob, parts, manifest } = await encryptedSplit();
    const part2 = path.join(parts, 'notes.txt.age.part002');
    const bytes = await readFile(part2);
    // Inside the third 64 KiB chunk, which lies wholly in part 2.
    bytes[40_000] = bytes[40_000]! ^ 0x40;
    await writeFile(part2, bytes);
    const out = path.join(dir, 'out.txt');
    const first = await runCli(['join', manifest, '--identity', bob.file, '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/error: part notes\.txt\.age\.part002: the encrypted data at byte \d+ fails authentication/);
    // Whoever can change a part can change the manifest too: only age's authentication is left.
    const json = JSON.parse(await readFile(manifest, 'utf8')) as { file: { sha256: string }; chunks: { sha256: string }[] };
    json.chunks[1]!.sha256 = sha256(bytes);
    const all = Buffer.concat(await Promise.all([1, 2, 3, 4].map((n) => readFile(path.join(parts, `notes.txt.age.part00${n}`)))));
    json.file.sha256 = sha256(all);
    await writeFile(manifest, JSON.stringify(json));
    const run = await runCli(['join', manifest, '--identity', bob.file, '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: part notes\.txt\.age\.part002: the encrypted data at byte \d+ fails authentication/);
    expect(await readdir(dir)).not.toContain('out.txt');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('GIVEN a truncated last part THEN join --identity fails naming it and writes nothing', async () => {
    const { dir, bob, parts, manifest } = await encryptedSplit();
    const last = path.join(parts, 'notes.txt.age.part004');
    const bytes = await readFile(last);
    await writeFile(last, bytes.subarray(0, bytes.length - 10));
    const run = await runCli(['join', manifest, '--identity', bob.file, '--out', path.join(dir, 'out.txt')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/part notes\.txt\.age\.part004 is \d+ bytes, the manifest says \d+/);
    expect(await readdir(dir)).not.toContain('out.txt');
  });

  it('GIVEN a malformed --recipient THEN split exits 2 naming it and writes no part', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'a.bin');
    await writeSeededFile(source, 1000, 1);
    const run = await runCli(['split', source, '--out', path.join(dir, 'parts'), '--recipient', 'age1nope']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--recipient: `age1nope` is not an age public key/);
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('GIVEN --identity for a manifest of a plain split THEN join exits 2 saying it is not encrypted', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'a.bin');
    await writeSeededFile(source, 1000, 1);
    expect((await runCli(['split', source, '--out', dir, '--chunk-size', '400'])).code).toBe(0);
    const key = await newIdentity(dir);
    const run = await runCli(['join', path.join(dir, 'a.bin.manifest.json'), '--identity', key.file, '--out', path.join(dir, 'b.bin')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not encrypted; leave --identity out/);
  });
});

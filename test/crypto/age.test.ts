/**
 * age encryption (README, 'Encryption') through the engine every split uses: the parts `cat`
 * together into one standard age file that the real `age` tool and the `age-encryption`
 * package both decrypt to the source; and the pieces underneath (sizes, random access, the
 * stream) agree with each other byte for byte.
 */
import { DEFAULTS } from '../../src/config.js';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SealingStream, OpeningStream } from '../../src/crypto/age-stream.js';
import { ageKeys, encryptedSize, newAgeSecrets, parseRecipient, plainSizeOf, unlockAge, AGE_CHUNK } from '../../src/crypto/age.js';
import { sourceHandle } from '../../src/crypto/sealed-file.js';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { newEncryption } from '../../src/transfer/encryption.js';
import { LocalSink } from '../../src/transfer/local-sink.js';
import { parseManifest } from '../../src/transfer/manifest.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer } from '../../src/transfer/orchestrator.js';
import { AGE_BINARY, AGE_MISSING, ageDecrypt, libraryDecrypt, MUST_HAVE_AGE, newIdentity } from '../support/age.js';
import { seededBytes } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';
import { sha256 } from '../support/hash.js';

/** What `split --recipient` does: the engine with a local directory as the sink. */
async function splitEncrypted(source: string, out: string, recipients: string[], chunkSize: number) {
  await mkdir(out);
  const plan = await planFileTransfer({
    realPath: source,
    relPath: path.basename(source),
    chunkSize,
    ownerId: 'local',
    channelId: 'local',
    encryption: await newEncryption(recipients),
  });
  const store = new MemoryStore();
  const created = await store.create(plan);
  const final = await runTransfer(
    {
      store,
      sink: new LocalSink(out),
      log: createLogger({ level: 'silent' }),
      config: { maxChunksPerMessage: 1, maxParallelUploads: 1, retryLimit: 0, backoffBaseMs: 0, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES },
    },
    created.id,
  );
  expect(final.status, final.notes.join('; ')).toBe('complete');
  const names = (await readdir(out)).sort();
  const manifest = parseManifest(
    JSON.parse(
      await readFile(
        path.join(
          out,
          names.find((n) => n.endsWith('.manifest.json'))!,
        ),
        'utf8',
      ),
    ),
  );
  // `cat <name>.age.part* > <name>.age`, in shell glob order.
  const parts = names.filter((n) => n.includes('.age.part'));
  const joined = Buffer.concat(await Promise.all(parts.map((n) => readFile(path.join(out, n)))));
  return { final, manifest, parts, joined };
}

describe('GIVEN a file split with age recipients', () => {
  it.runIf(AGE_BINARY === null && MUST_HAVE_AGE)('GIVEN CI=true THEN the age tool is installed', () => {
    expect(AGE_MISSING).toBeNull();
  });
  if (AGE_MISSING) console.warn(`test/crypto/age.test.ts: ${AGE_MISSING}`);

  const cases: [string, number, number, number][] = [
    ['0 bytes', 0, 1000, 1],
    ['1 byte', 1, 1000, 1],
    ['64 KiB exactly', AGE_CHUNK, 20_000, 1],
    ['64 KiB + 1', AGE_CHUNK + 1, 20_000, 2],
    ['a part boundary inside a chunk', 300_000, 100_000, 1],
    ['50 MiB with 3 recipients', 50 * MIB, 8_000_000, 3],
  ];
  it.each(cases)(
    'GIVEN %s THEN cat of the parts is an age file that age and age-encryption decrypt to the source',
    { timeout: 120_000 },
    async (_what, size, chunkSize, recipientCount) => {
      const dir = await tempDir();
      const source = path.join(dir, 'source.bin');
      const plain = seededBytes(size, size + 3);
      await writeFile(source, plain);
      const ids = await Promise.all(Array.from({ length: recipientCount }, (_, i) => newIdentity(dir, `key${i}`)));
      const out = path.join(dir, 'out');
      const { final, manifest, parts, joined } = await splitEncrypted(
        source,
        out,
        ids.map((i) => i.recipient),
        chunkSize,
      );

      expect(final.file_name).toBe('source.bin.age');
      expect(parts[0]).toBe('source.bin.age.part001');
      expect(manifest.encryption).toEqual({ format: 'age-encryption.org/v1', recipients: ids.map((i) => i.recipient) });
      expect(manifest.file.size).toBe(joined.length);
      expect(joined.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
      // Nothing of the plaintext is in the manifest: not its hash, not its size.
      const plainSha = sha256(plain);
      expect(JSON.stringify(manifest)).not.toContain(plainSha);
      expect(final.encryption?.file_key).toBeNull();

      const agePath = path.join(dir, 'source.bin.age');
      await writeFile(agePath, joined);
      // Every recipient can open it, with either implementation.
      for (const id of ids) expect((await libraryDecrypt(joined, id.secret)).equals(plain)).toBe(true);
      if (AGE_BINARY !== null) for (const id of ids) expect((await ageDecrypt(agePath, id.file)).equals(plain)).toBe(true);
    },
  );
});

describe('GIVEN the age payload made three ways', () => {
  it('GIVEN random reads of the sealed view of a file THEN each equals the same bytes of the streamed encryption', async () => {
    const dir = await tempDir();
    const id = await newIdentity(dir);
    const secrets = await newAgeSecrets([id.recipient]);
    const keys = ageKeys(secrets);
    const plain = seededBytes(3 * AGE_CHUNK + 12_345, 7);
    const file = path.join(dir, 'p.bin');
    await writeFile(file, plain);
    const sealer = new SealingStream(keys);
    const streamed = Buffer.concat([...sealer.push(plain.subarray(0, 1000)), ...sealer.push(plain.subarray(1000)), ...sealer.end()]);
    expect(streamed.length).toBe(encryptedSize(keys.prefix.length, plain.length));
    expect(plainSizeOf(keys.prefix.length, streamed.length)).toBe(plain.length);

    const handle = sourceHandle(await open(file, 'r'), { keys, plainSize: plain.length });
    try {
      expect((await handle.stat()).size).toBe(streamed.length);
      // Ranges that start in the header, inside a chunk, on a chunk's tag, and run to the end.
      const ranges = [
        [0, 10],
        [keys.prefix.length - 3, 70_000],
        [keys.prefix.length + AGE_CHUNK + 5, 3],
        [streamed.length - 20, 20],
        [100, streamed.length - 100],
      ] as const;
      for (const [at, length] of ranges) {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, at);
        expect(bytesRead).toBe(length);
        expect(buffer.equals(streamed.subarray(at, at + length)), `bytes ${at}+${length}`).toBe(true);
      }
      // Past the end there is nothing (the file did not grow).
      expect((await handle.read(Buffer.alloc(4), 0, 4, streamed.length)).bytesRead).toBe(0);
    } finally {
      await handle.close();
    }

    const opener = new OpeningStream((start) => unlockAge(start, `${id.secret}\n`, 'key.txt'));
    const opened: Buffer[] = [];
    for (let at = 0; at < streamed.length; at += 9_999) opened.push(...(await opener.push(streamed.subarray(at, at + 9_999))));
    opened.push(...(await opener.end()));
    expect(Buffer.concat(opened).equals(plain)).toBe(true);
    expect((await libraryDecrypt(streamed, id.secret)).equals(plain)).toBe(true);
  });

  it('GIVEN a cut-short or changed stream THEN opening it fails naming the byte, before that chunk comes out', async () => {
    const dir = await tempDir();
    const id = await newIdentity(dir);
    const keys = ageKeys(await newAgeSecrets([id.recipient]));
    const plain = seededBytes(2 * AGE_CHUNK + 10, 8);
    const sealer = new SealingStream(keys);
    const streamed = Buffer.concat([...sealer.push(plain), ...sealer.end()]);
    const unlock = (start: Buffer) => unlockAge(start, id.secret, 'key.txt');

    // Cut at a chunk boundary: what is left is authentic, but its last chunk is not marked last.
    const cut = new OpeningStream(unlock);
    const boundary = keys.prefix.length + 2 * (AGE_CHUNK + 16);
    await cut.push(streamed.subarray(0, boundary));
    await expect(cut.end()).rejects.toThrow(/cut short/);

    const changed = Buffer.from(streamed);
    changed[keys.prefix.length + AGE_CHUNK + 40]! ^= 1;
    const flipped = new OpeningStream(unlock);
    const first = await flipped.push(changed.subarray(0, keys.prefix.length + AGE_CHUNK + 16 + 1));
    expect(Buffer.concat(first).equals(plain.subarray(0, AGE_CHUNK))).toBe(true);
    await expect(flipped.push(changed.subarray(keys.prefix.length + AGE_CHUNK + 17))).rejects.toThrow(
      new RegExp(`byte ${keys.prefix.length + AGE_CHUNK + 16} fails authentication`),
    );
  });

  it('GIVEN malformed recipients THEN each is refused naming it, but a secret key is refused as one and never named', async () => {
    await expect(parseRecipient('age1short')).rejects.toThrow(/`age1short` is not an age public key/);
    for (const secret of ['AGE-SECRET-KEY-1QQQSECRETDATA', ' age-secret-key-1qqqsecretdata', 'key: AGE-SECRET-KEY-1QQQSECRETDATA']) {
      const refusal = await parseRecipient(secret).catch((e: unknown) => (e as Error).message);
      expect(refusal).toMatch(/is an age secret key/);
      expect(refusal.toUpperCase()).not.toContain('QQQSECRETDATA');
    }
    const dir = await tempDir();
    const { recipient } = await newIdentity(dir);
    const typo = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    await expect(parseRecipient(typo)).rejects.toThrow(/checksum does not match/);
    expect(await parseRecipient(` ${recipient} `)).toBe(recipient);
  });
});

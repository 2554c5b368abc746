/**
 * Encryption end to end (README, 'Encryption'): the bot process, the fake Discord, a local HTTPS
 * server for /upload, and a recipient who decrypts what was posted with the real `age` tool.
 * The bot is SIGKILLed mid-transfer and restarted; the parts it re-sends must be the bytes
 * the first attempt would have sent, and once the transfer is complete neither the progress
 * file nor any log line may hold its key.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import type { LogLine } from '../support/bot-process.js';
import { AGE_BINARY, AGE_MISSING, ageDecrypt, libraryDecrypt, MUST_HAVE_AGE, newIdentity, type TestIdentity } from '../support/age.js';
import { startHttpsServer, uploadEnv, type TestHttpsServer } from '../support/https-server.js';
import { seededBytes } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { tempDir, tempDirForFile } from '../support/temp.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';
import { sha256 } from '../support/hash.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('GIVEN the bot with age recipients', () => {
  let fx: BotFixture;
  let srv: TestHttpsServer;
  let alice: TestIdentity;
  let bob: TestIdentity;
  const logs: LogLine[] = [];
  let stdout = '';
  let keys = '';

  beforeAll(async () => {
    if (AGE_MISSING) console.warn(`test/bot/encryption.test.ts: ${AGE_MISSING}`);
    // Not tempDir(): that is emptied after each test, and the keys serve them all.
    keys = await tempDirForFile('dfs-keys-');
    alice = await newIdentity(keys, 'alice');
    bob = await newIdentity(keys, 'bob');
    srv = await startHttpsServer();
    fx = await startBotFixture({
      env: {
        MAX_CHUNKS_PER_MESSAGE: '1',
        MAX_ACTIVE_TRANSFERS: '10',
        PROGRESS_EDIT_INTERVAL_MS: '100',
        AGE_RECIPIENTS: bob.recipient,
        ...uploadEnv(),
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
    await srv?.stop();
  });

  /** Every log line and stdout byte of every bot process so far, the current one included. */
  const collect = () => {
    logs.push(...fx.bot.logs);
    stdout += fx.bot.stdout();
  };

  /** The rebuilt age file decrypts to `plain` for each identity, with the age tool and with age-encryption. */
  async function expectDecrypts(id: string, plain: Buffer, who: TestIdentity[]) {
    const rebuilt = rebuildFromFake(fx.fake, id);
    const bytes = rebuilt.bytes();
    expect(rebuilt.sha256).toBe(rebuilt.manifest.file.sha256);
    const file = path.join(await tempDir(), rebuilt.manifest.file.name);
    await writeFile(file, bytes);
    for (const identity of who) {
      expect((await libraryDecrypt(bytes, identity.secret)).equals(plain)).toBe(true);
      if (AGE_BINARY !== null) expect((await ageDecrypt(file, identity.file)).equals(plain)).toBe(true);
    }
    return rebuilt;
  }

  it.runIf(AGE_BINARY === null && MUST_HAVE_AGE)('GIVEN CI=true THEN the age tool is installed', () => {
    expect(AGE_MISSING).toBeNull();
  });

  it('GIVEN a malformed recipient THEN /split is refused ephemerally, naming it, and nothing is recorded', async () => {
    await writeFile(path.join(fx.filesRoot, 'plans.bin'), seededBytes(2 * MIB, 1));
    const before = (await fx.readProgress().catch(() => ({ active_transfers: [] }))).active_transfers.length;
    const handle = await fx.fake.sendInteraction({
      name: 'split',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [
        { name: 'path', type: 3, value: 'plans.bin' },
        { name: 'recipient', type: 3, value: 'age1thisisnotakey' },
      ],
    });
    await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
    expect(handle.ephemeral()).toBe(true);
    expect(handle.original()?.content).toMatch(/`age1thisisnotakey` is not an age public key/);
    expect((await fx.readProgress().catch(() => ({ active_transfers: [] }))).active_transfers).toHaveLength(before);
  });

  it('GIVEN an age secret key pasted as recipient THEN /split and /upload refuse it ephemerally, saying it is a secret key, without showing or logging it', async () => {
    await writeFile(path.join(fx.filesRoot, 'plans.bin'), seededBytes(2 * MIB, 1));
    const before = (await fx.readProgress().catch(() => ({ active_transfers: [] }))).active_transfers.length;
    // The key's data, in either case: what must appear nowhere.
    const data = alice.secret.slice('AGE-SECRET-KEY-1'.length, -6);
    const tries = [
      { name: 'split', options: [{ name: 'path', type: 3, value: 'plans.bin' }], key: alice.secret },
      {
        name: 'upload',
        options: [{ name: 'url', type: 3, value: `https://files.test:${srv.port}/dl/none.bin` }],
        key: ` ${alice.secret.toLowerCase()} `,
      },
    ];
    for (const { name, options, key } of tries) {
      const handle = await fx.fake.sendInteraction({
        name,
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [...options, { name: 'recipient', type: 3, value: key }],
      });
      await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      const content = handle.original()?.content ?? '';
      expect(handle.ephemeral(), name).toBe(true);
      expect(content, name).toMatch(/secret key/);
      expect(content, name).toMatch(/age1/);
      expect(content.toUpperCase(), name).not.toContain(data);
    }
    expect((await fx.readProgress().catch(() => ({ active_transfers: [] }))).active_transfers).toHaveLength(before);
    const logged = JSON.stringify(fx.bot.logs) + fx.bot.stdout() + fx.bot.stderr();
    expect(logged.toUpperCase()).not.toContain(data);
  });

  it(
    'GIVEN /split with a recipient, SIGKILLed at four points THEN .age parts are posted once each, the manifest names the recipients, and both keys decrypt it',
    { timeout: 180_000 },
    async () => {
      const plain = seededBytes(12 * MIB + 4321, 2);
      await writeFile(path.join(fx.filesRoot, 'secret plans.bin'), plain);
      fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 60, times: 10_000 });
      const id = await fx.split('secret plans.bin', { chunkSizeMiB: 1, options: [{ name: 'recipient', type: 3, value: alice.recipient }] });

      const running = await fx.transfer(id);
      expect(running.file_name).toBe('secret_plans.bin.age');
      expect(running.encryption).toMatchObject({ recipients: [bob.recipient, alice.recipient], plaintext_size: plain.length });
      const fileKey = running.encryption?.file_key;
      expect(fileKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect((await stat(fx.progressPath)).mode & 0o777).toBe(0o600);

      let midTransfer = 0;
      // Kill points: before any part, after a few, the worst one (stored, never answered), near the end.
      for (const [k, target] of [0, 3, 6, 10].entries()) {
        const deadline = Date.now() + 20_000;
        if (k === 2) {
          fx.fake.faults.clear();
          fx.fake.faults.add({ route: MESSAGES, kind: 'storeThenHang', times: 1 });
        }
        while (postedPartNames(fx.fake, id).length < target && Date.now() < deadline) await sleep(5);
        if ((await fx.transfer(id)).status !== 'complete') midTransfer++;
        collect();
        await fx.restartBot();
        fx.fake.faults.clear();
        fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 60, times: 10_000 });
      }
      fx.fake.faults.clear();
      const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 90_000);
      expect(done.status, done.notes.join('; ')).toBe('complete');
      console.log(`encryption test: ${midTransfer} of 4 kills landed mid-transfer`);
      expect(midTransfer).toBeGreaterThan(0);

      const names = postedPartNames(fx.fake, id);
      expect(new Set(names).size, `duplicates: ${names.join(',')}`).toBe(names.length);
      expect(names.length).toBe(done.total_chunks);
      expect(names.every((n) => /^secret_plans\.bin\.age\.part\d{3}$/.test(n))).toBe(true);
      const rebuilt = await expectDecrypts(id, plain, [alice, bob]);
      expect(rebuilt.manifest.encryption).toEqual({ format: 'age-encryption.org/v1', recipients: [bob.recipient, alice.recipient] });
      expect(rebuilt.manifest.file.name).toBe('secret_plans.bin.age');
      expect(JSON.stringify(rebuilt.manifest)).not.toContain(sha256(plain));
      expect(rebuilt.manifestMessage.content).toContain('age -d -i key.txt');

      // The key is gone from the record, the file and every log line.
      expect(done.encryption).toMatchObject({ file_key: null, payload_nonce: null, header: null });
      const text = await readFile(fx.progressPath, 'utf8');
      const hex = Buffer.from(fileKey!, 'base64').toString('hex');
      expect(text).not.toContain(fileKey!);
      collect();
      for (const needle of [fileKey!, hex]) expect(stdout, 'a log line holds the file key').not.toContain(needle);
      expect(logs.length).toBeGreaterThan(0);
    },
  );

  it(
    'GIVEN /upload with a recipient, SIGKILLed mid-way THEN the resumed download seals the same bytes and the age file decrypts to the source',
    { timeout: 120_000 },
    async () => {
      const plain = seededBytes(6 * MIB + 99, 3);
      srv.routes.set('/dl/report.pdf', { kind: 'file', data: plain, etag: '"r1"' });
      fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 80, times: 10_000 });
      const handle = await fx.fake.sendInteraction({
        name: 'upload',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [
          { name: 'url', type: 3, value: `https://files.test:${srv.port}/dl/report.pdf` },
          { name: 'chunk_size', type: 4, value: 1 },
          { name: 'recipient', type: 3, value: alice.recipient },
        ],
      });
      await handle.waitFor((h) => Boolean(h.original()?.content), 35_000);
      const id = /`(upload_[a-z0-9]+)`/.exec(handle.original()?.content ?? '')?.[1];
      expect(id, handle.original()?.content).toBeDefined();
      const deadline = Date.now() + 20_000;
      while (postedPartNames(fx.fake, id!).length < 3 && Date.now() < deadline) await sleep(5);
      collect();
      await fx.restartBot();
      fx.fake.faults.clear();
      const done = await fx.waitForStatus(id!, ['complete', 'error', 'cancelled'], 60_000);
      expect(done.status, done.notes.join('; ')).toBe('complete');
      const names = postedPartNames(fx.fake, id!);
      expect(new Set(names).size).toBe(names.length);
      expect(names[0]).toBe('report.pdf.age.part001');
      await expectDecrypts(id!, plain, [alice, bob]);
      expect(done.encryption?.file_key).toBeNull();
    },
  );
});

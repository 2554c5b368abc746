/**
 * LOG_REDACT_FILENAMES=true: no log line carries a file name, a path under FILES_ROOT, the
 * progress file's path or an /upload URL's host, path or query, whatever the event (errors
 * and notes included); each is logged as its short hash instead. Off, names appear as before.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { startHttpsServer, TEST_CA_PATH, type TestHttpsServer } from '../support/https-server.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { seededBytes, writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const FAKE_DNS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/fake-dns.mjs');

async function startWithRedaction(redact: boolean): Promise<BotFixture> {
  return startBotFixture({
    env: {
      LOG_REDACT_FILENAMES: String(redact),
      MAX_CHUNKS_PER_MESSAGE: '1',
      MAX_ACTIVE_TRANSFERS: '10',
      RETRY_LIMIT_PER_CHUNK: '1',
      UPLOAD_ALLOWED_HOSTS: 'files.test',
      NODE_EXTRA_CA_CERTS: TEST_CA_PATH,
      NODE_OPTIONS: `--import ${FAKE_DNS}`,
      DFS_TEST_DNS: `files.test=127.0.0.1`,
    },
  });
}

/**
 * A /split that fails: the file is modified while its parts are being sent. Its messages are
 * held at the fake Discord until the file has changed, so the transfer cannot finish first
 * however fast or slow the machine is.
 */
async function splitThatChanges(fx: BotFixture, rel: string): Promise<string> {
  const file = path.join(fx.filesRoot, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeSeededFile(file, 6 * MIB, 21);
  const held = heldAnswer();
  fx.fake.faults.add({ route: MESSAGES, kind: 'hold', until: held.hold, times: 100 });
  let id: string;
  try {
    id = await fx.split(rel, { chunkSizeMiB: 1 });
    await waitUntil(() => fx.fake.pendingRequests().some((r) => r.route === MESSAGES), 'a message of the transfer reaches the fake Discord');
    await fs.utimes(file, new Date(), new Date(Date.now() + 60_000));
  } finally {
    held.release();
  }
  const t = await fx.waitForStatus(id, ['error', 'complete']);
  expect(t.status).toBe('error');
  expect(t.notes.join('\n')).toMatch(/source changed/);
  fx.fake.faults.clear();
  return id;
}

async function upload(fx: BotFixture, url: string): Promise<string> {
  const handle = await fx.command({
    name: 'upload',
    permissions: PERMISSIONS.ADMINISTRATOR,
    options: [
      { name: 'url', type: 3, value: url },
      { name: 'chunk_size', type: 4, value: 1 },
    ],
  });
  await handle.waitFor((h) => Boolean(h.original()?.content), 35_000);
  const id = /`(upload_[a-z0-9]+)`/.exec(handle.original()?.content ?? '')?.[1];
  if (!id) throw new Error(`/upload did not start: ${handle.original()?.content}`);
  return id;
}

describe('LOG_REDACT_FILENAMES', () => {
  let srv: TestHttpsServer;
  beforeAll(async () => {
    srv = await startHttpsServer();
    srv.routes.set('/private-path/secret-dl.bin', {
      kind: 'file',
      data: seededBytes(2 * MIB + 7, 4),
      disposition: 'attachment; filename="Quarterly Secret.mkv"',
    });
    // Drops every download after 100 kB: the transfer ends error.
    srv.routes.set('/private-path/broken-dl.bin', { kind: 'file', data: seededBytes(2 * MIB, 5), drop: { afterBytes: 100_000, times: 100 } });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  describe('on', () => {
    let fx: BotFixture;
    beforeAll(async () => {
      fx = await startWithRedaction(true);
    });
    afterAll(async () => {
      await fx?.stop();
    });

    it('GIVEN a /split, a failing /split and /uploads THEN no log line holds a name, a path, FILES_ROOT or the URL', async () => {
      await fs.mkdir(path.join(fx.filesRoot, 'private-dir'));
      await writeSeededFile(path.join(fx.filesRoot, 'private-dir', 'secret-report.bin'), 3 * MIB, 8);
      const ok = await fx.split('private-dir/secret-report.bin', { chunkSizeMiB: 1 });
      expect((await fx.waitForStatus(ok, ['complete', 'error'])).status).toBe('complete');
      const changed = await splitThatChanges(fx, 'private-dir/changing-plans.bin');
      const origin = `https://files.test:${srv.port}`;
      const fetched = await upload(fx, `${origin}/private-path/secret-dl.bin?sig=topsecretquery`);
      expect((await fx.waitForStatus(fetched, ['complete', 'error'])).status).toBe('complete');
      const broken = await upload(fx, `${origin}/private-path/broken-dl.bin`);
      expect((await fx.waitForStatus(broken, ['complete', 'error'])).status).toBe('error');

      const logs = fx.bot.stdout();
      // The failures were logged (with their reasons), just not the names in them.
      for (const id of [changed, broken]) expect(fx.bot.logs.some((l) => l.event === 'transfer_error' && l.transfer_id === id)).toBe(true);
      const sensitive = [
        'secret-report',
        'changing-plans',
        'private-dir',
        fx.filesRoot,
        fx.progressPath,
        fx.progressPath.replace(/\.json$/, '.lock'),
        'files.test',
        'private-path',
        'secret-dl',
        'broken-dl',
        'topsecretquery',
        'Quarterly',
      ];
      for (const s of sensitive) expect(logs.includes(s), `a log line holds ${s}`).toBe(false);
      const ready = fx.bot.logs.find((l) => l.msg === 'ready');
      expect(ready?.files_root).toMatch(/^name#[0-9a-f]{10}$/);
    });
  });

  describe('off', () => {
    let fx: BotFixture;
    beforeAll(async () => {
      fx = await startWithRedaction(false);
    });
    afterAll(async () => {
      await fx?.stop();
    });

    it('GIVEN a failing /split THEN its log lines name the file and FILES_ROOT as before', async () => {
      await splitThatChanges(fx, 'private-dir/changing-plans.bin');
      expect(fx.bot.stdout()).toContain('changing-plans.bin');
      expect(fx.bot.logs.find((l) => l.msg === 'ready')?.files_root).toBe(fx.filesRoot);
    });
  });
});

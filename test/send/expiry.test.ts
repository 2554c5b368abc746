/**
 * An upload that receives nothing for SEND_EXPIRY_HOURS ends `cancelled` with a note and its
 * staged bytes removed. Nobody waits an hour: the threshold is checked with an injected clock
 * against a real progress store and staging folder (SendUploads.expireIdle), and the bot's
 * wiring by aging an upload's staging folder (its mtimes are when its bytes came) while the
 * bot is down: the started bot ends it at once. `Upload-Expires` says when that will be.
 */
import { readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { SendUploads } from '../../src/send/uploads.js';
import { FileStore } from '../../src/store/file-store.js';
import { sendTransfer } from '../../src/transfer/new-transfer.js';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { seededBytes } from '../support/random-file.js';
import { redeem, sendLink } from '../support/send.js';
import { tempDir } from '../support/temp.js';
import { createUpload, patchUpload, stagingLeft, tusRequest } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const HOUR = 3_600_000; // ms

describe('SendUploads.expireIdle', () => {
  it('GIVEN an upload whose last byte came SEND_EXPIRY_HOURS ago THEN it is expired, and not a millisecond before; a fully received one never', async () => {
    const dir = await tempDir('dfs-expiry-');
    const store = await FileStore.open(path.join(dir, 'transfer_progress.json'));
    const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      const options = { chunkSize: MIB, attachmentSizeLimit: null, ownerId: '1', channelId: '2', guildId: '3' };
      const idle = await store.create(sendTransfer({ ...options, id: 'upload_idle0001' }, 'idle.bin', 3 * MIB));
      const whole = await store.create(sendTransfer({ ...options, id: 'upload_whole001' }, 'whole.bin', 10));
      const uploads = new SendUploads(
        { dir: path.join(dir, 'staging'), perUploadBytes: 4 * MIB, maxBytes: 64 * MIB, expiryMs: 2 * HOUR },
        { store, log },
      );
      const staging = await uploads.staging(store.get(idle.id)!);
      await staging.write(Readable.from([seededBytes(MIB + 5, 1)]), 0);
      await (await uploads.staging(store.get(whole.id)!)).write(Readable.from([Buffer.alloc(10)]), 0);
      const last = staging.lastReceivedAt;
      const ended: [string, number][] = [];
      const expire = (id: string, idleMs: number) => {
        ended.push([id, idleMs]);
        return Promise.resolve();
      };
      expect(await uploads.expireIdle(expire, () => last + 2 * HOUR - 1)).toEqual([]);
      expect(await uploads.expireIdle(expire, () => last + 2 * HOUR)).toEqual([idle.id]);
      expect(ended).toEqual([[idle.id, 2 * HOUR]]);
      // One that ended is not looked at again.
      await store.setStatus(idle.id, 'cancelled', 'test');
      expect(await uploads.expireIdle(expire, () => last + 100 * HOUR)).toEqual([]);
      uploads.close();
    } finally {
      await store.close();
    }
  });

  it('GIVEN a send that ended in error (its staged bytes kept for /resume), even one fully received WHEN nothing came for SEND_EXPIRY_HOURS THEN it is expired too: its staging is not kept forever', async () => {
    const dir = await tempDir('dfs-expiry-');
    const store = await FileStore.open(path.join(dir, 'transfer_progress.json'));
    const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      const options = { chunkSize: MIB, attachmentSizeLimit: null, ownerId: '1', channelId: '2', guildId: '3' };
      const failed = await store.create(sendTransfer({ ...options, id: 'upload_failed01' }, 'failed.bin', 10));
      const uploads = new SendUploads(
        { dir: path.join(dir, 'staging'), perUploadBytes: 4 * MIB, maxBytes: 64 * MIB, expiryMs: 2 * HOUR },
        { store, log },
      );
      const staging = await uploads.staging(store.get(failed.id)!);
      await staging.write(Readable.from([Buffer.alloc(10)]), 0);
      await store.setStatus(failed.id, 'error', 'Discord refused a part');
      const expire = () => Promise.resolve();
      expect(await uploads.expireIdle(expire, () => staging.lastReceivedAt + 2 * HOUR - 1)).toEqual([]);
      expect(await uploads.expireIdle(expire, () => staging.lastReceivedAt + 2 * HOUR)).toEqual([failed.id]);
      uploads.close();
    } finally {
      await store.close();
    }
  });
});

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

/** Upload-Expires (RFC 7231, whole seconds) is `expiryMs` after a moment between `from` and `to`. */
function expectExpiresBetween(header: string | null, from: number, to: number, expiryMs: number): void {
  expect(header).not.toBeNull();
  const at = Date.parse(header!);
  expect(at).toBeGreaterThanOrEqual(Math.floor(from / 1000) * 1000 + expiryMs);
  expect(at).toBeLessThanOrEqual(to + expiryMs);
}

describe('sending: SEND_EXPIRY_HOURS', () => {
  it(
    'GIVEN an upload that received nothing for SEND_EXPIRY_HOURS while the bot was down WHEN the bot starts THEN it is cancelled with a note and its staged bytes are removed',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, SEND_EXPIRY_HOURS: '1', MAX_CHUNKS_PER_MESSAGE: '1' } });
      const reply = await sendLink(fx, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
      const { grant, files } = await redeem(reply.link!);
      const created = await createUpload(files!, grant!, 3 * MIB);
      const url = created.url!;
      const id = url.split('/').pop()!;
      const before = Date.now();
      const patched = await patchUpload(url, grant!, 0, seededBytes(MIB + 5, 2));
      const after = Date.now();
      expect(patched.status).toBe(204);
      // Upload-Expires (tus requires it on PATCH): the last byte + SEND_EXPIRY_HOURS.
      expectExpiresBetween(patched.headers.get('upload-expires'), before, after, HOUR);
      // Its first part posted (and released): the folder keeps the 5 bytes after it.
      expect((await fx.waitForParts(id, 1)).parts.length).toBe(1);
      // Down for two hours, as far as the staging folder can tell.
      await fx.bot.kill('SIGKILL');
      const folder = path.join(fx.work, 'staging', id);
      const old = new Date(Date.now() - 2 * HOUR);
      for (const name of await readdir(folder)) await utimes(path.join(folder, name), old, old);
      await utimes(folder, old, old);
      const bot = await fx.restartBot();
      const t = await fx.waitForStatus(id, ['cancelled', 'complete', 'error'], 30_000);
      expect(t.status).toBe('cancelled');
      expect(t.notes.join('\n')).toMatch(/received nothing for 2 h \(SEND_EXPIRY_HOURS=1\)/);
      expect(await stagingLeft(path.join(fx.work, 'staging'))).toEqual([]);
      expect((await tusRequest('HEAD', url, { grant: grant! })).status).toBe(410);
      expect(unexpectedErrors(bot)).toEqual([]);
    },
  );
});

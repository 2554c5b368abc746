/**
 * Nothing lost: the bot process is SIGKILLed at many points of transfers (including the
 * worst one: Discord stored the message, the bot never got the answer), restarted, and
 * every transfer must end complete with each part in the channel exactly once.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import type { LogLine } from '../support/bot-process.js';
import { seededRandom, writeSeededFile } from '../support/random-file.js';
import { postedManifests, postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const MESSAGES = 'POST /channels/:id/messages';
const TRANSFERS = 3;
const KILLS_PER_TRANSFER = 7;
const PARTS = 16;

describe('SIGKILL at many points, then restart', () => {
  let fx: BotFixture;
  const allLogs: LogLine[] = [];
  const stats = { killPoints: 0, worstCase: 0, midTransfer: 0, partsVerified: 0 };

  beforeAll(async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10', PROGRESS_EDIT_INTERVAL_MS: '100' } });
  });
  afterAll(async () => {
    allLogs.push(...(fx?.bot.logs ?? []));
    await fx?.stop();
    console.log(
      `crash test: ${stats.killPoints} kill points (${stats.midTransfer} mid-transfer, ${stats.worstCase} stored-but-unanswered), ${stats.partsVerified} parts verified`,
    );
  });

  // Many bot restarts: give it room on a loaded 2-core machine (about 45 s when alone).
  it(
    `GIVEN ${TRANSFERS * KILLS_PER_TRANSFER} seeded kill points THEN every transfer completes with each part exactly once`,
    { timeout: 240_000 },
    async () => {
      const random = seededRandom(20261124);
      for (let n = 0; n < TRANSFERS; n++) {
        const name = `crash-${n}.bin`;
        const sha = await writeSeededFile(path.join(fx.filesRoot, name), PARTS * MIB - 7 * n, 100 + n);
        // Slow uploads a little so the kills land inside the transfer.
        fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 40, times: 10_000 });
        const id = await fx.split(name, { chunkSizeMiB: 1 });
        for (let k = 0; k < KILLS_PER_TRANSFER; k++) {
          const before = postedPartNames(fx.fake, id).length;
          if (k % 3 === 1) {
            // The worst point: the next part is stored by Discord, its answer never arrives.
            fx.fake.faults.clear();
            fx.fake.faults.add({ route: MESSAGES, kind: 'storeThenHang', times: 1 });
            const deadline = Date.now() + 15_000;
            while (postedPartNames(fx.fake, id).length <= before && Date.now() < deadline && (await fx.transfer(id)).status !== 'complete')
              await sleep(5);
            if (postedPartNames(fx.fake, id).length > before) stats.worstCase++;
          } else {
            const target = before + Math.floor(random() * 3);
            const deadline = Date.now() + 15_000;
            while (postedPartNames(fx.fake, id).length < target && Date.now() < deadline) await sleep(5);
            await sleep(Math.floor(random() * 60));
          }
          const status = (await fx.transfer(id)).status;
          if (status !== 'complete') stats.midTransfer++;
          stats.killPoints++;
          allLogs.push(...fx.bot.logs);
          fx.fake.faults.clear();
          fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 40, times: 10_000 });
          await fx.restartBot();
        }
        fx.fake.faults.clear();
        const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
        expect(t.status, t.notes.join('; ')).toBe('complete');
        const names = postedPartNames(fx.fake, id);
        expect(new Set(names).size, `duplicates: ${names.join(',')}`).toBe(names.length);
        expect(names.length).toBe(t.total_chunks);
        const rebuilt = rebuildFromFake(fx.fake, id);
        expect(rebuilt.sha256).toBe(sha);
        expect(rebuilt.manifest.file.sha256).toBe(sha);
        // One manifest only.
        expect(postedManifests(fx.fake, id)).toHaveLength(1);
        stats.partsVerified += names.length;
      }
      expect(stats.killPoints).toBeGreaterThanOrEqual(20);
      expect(stats.midTransfer).toBeGreaterThanOrEqual(15);
      expect(stats.worstCase).toBeGreaterThanOrEqual(5);
      // Parts stored but never answered were found in the channel, not posted again.
      expect(allLogs.filter((l) => l.event === 'chunk_found').length).toBeGreaterThanOrEqual(stats.worstCase);
    },
  );
});

describe('SIGKILL at the commit point', () => {
  let fx: BotFixture | undefined;
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN the manifest was stored but never answered and the restart comes after Discord forgot the nonce THEN it is recorded, not posted twice', async () => {
    // A nonce lifetime of 1 ms stands for a restart hours later: only the channel can tell.
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { nonceTtlMs: 1 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'commit.bin'), 2 * MIB + 1, 9);
    // The progress message and three parts pass; the manifest is stored and never answered.
    fx.fake.faults.add({ route: MESSAGES, kind: 'storeThenHang', after: 4, times: 1 });
    const id = await fx.split('commit.bin', { chunkSizeMiB: 1 });
    const manifests = () => postedManifests(fx!.fake, id);
    const deadline = Date.now() + 20_000;
    while (manifests().length === 0 && Date.now() < deadline) await sleep(10);
    expect(manifests()).toHaveLength(1);
    expect((await fx.transfer(id)).status).toBe('in_progress');
    fx.fake.faults.clear();
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(manifests()).toHaveLength(1);
    expect(t.manifest_message_id).toBe(manifests()[0]?.id);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(fx.bot.logs.some((l) => l.event === 'manifest_found')).toBe(true);
  });
});

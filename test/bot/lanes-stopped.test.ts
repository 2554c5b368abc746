/**
 * Lanes (README, 'Lanes') when a run is stopped while its lanes are being made: Discord's answer
 * to a lane's thread held, a /cancel must not wait for it, nor the bot make lanes after it; a
 * bot killed before it recorded a lane Discord made takes that lane up when it starts again.
 * PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3; the bot as its own process against the fake Discord.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

const THREAD_CREATE = 'POST /channels/:id/threads';

describe('GIVEN PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3 and a Discord that does not answer the third lane', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    // No request is cut by its time limit while the test holds it: only the cancel can end the wait.
    fx = await startBotFixture({ env: { PARTS_IN: 'thread', MAX_PARALLEL_UPLOADS: '3', MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '600000' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN /cancel delete_posted comes while the lane is being made THEN it answers without waiting for Discord, and no lane is made after it', async () => {
    const channelId = fx.fake.channels[0]!.id;
    await writeSeededFile(path.join(fx.filesRoot, 'cancelled lanes.bin'), 4 * MIB, 95);
    const held = heldAnswer();
    // The second thread made without a message: lane 2 (lane 0 is started from the progress message).
    fx.fake.faults.add({ route: THREAD_CREATE, after: 1, kind: 'hold', until: held.hold, times: 10 });
    const heldLane = () => fx.fake.pendingRequests().find((r) => r.route === THREAD_CREATE && r.fault === 'hold');
    try {
      const id = await fx.split('cancelled lanes.bin', { chunkSizeMiB: 1, channelId });
      await waitUntil(() => heldLane() !== undefined, 'the third lane held');
      const resume = await fx.command({
        name: 'resume',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [{ name: 'transfer', type: 3, value: id }],
      });
      await resume.waitFor((h) => Boolean(h.original()?.content), 5_000);
      expect(resume.original()?.content).toContain('already running');

      const cancel = await fx.command({
        name: 'cancel',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [
          { name: 'transfer', type: 3, value: id },
          { name: 'delete_posted', type: 5, value: true },
        ],
      });
      await cancel.waitFor((h) => /cancelled/.test(h.original()?.content ?? ''), 15_000);
      const t = await fx.transfer(id);
      expect(t.status).toBe('cancelled');
      expect(t.threads.map((l) => l.lane)).toEqual([0, 1]);
      expect(t.notes.filter((n) => n.startsWith('parts go'))).toEqual([]);
      // Discord answers at last: the bot, which gave up on that request, makes no thread of it.
      held.release();
      await waitUntil(() => heldLane() === undefined, 'the held request settled');
      expect(
        fx.fake
          .threads(channelId)
          .filter((x) => x.name.startsWith(t.file_name))
          .map((x) => x.id),
      ).toEqual(t.threads.map((l) => l.id));
      expect((await fx.transfer(id)).threads).toEqual(t.threads);
    } finally {
      held.release();
    }
  });

  it('WHEN the bot is killed after Discord made a lane but before the record had it THEN the next run takes that lane up: one thread a lane, each part once', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'killed lane.bin'), 4 * MIB + 9, 96);
    fx.fake.faults.clear();
    const held = heldAnswer();
    // Discord's processing of the first lane held once its body is in: the thread is made when released, after the kill.
    fx.fake.faults.add({ route: THREAD_CREATE, kind: 'hold', afterBody: true, until: held.hold, times: 1 });
    const id = await fx.split('killed lane.bin', { chunkSizeMiB: 1, channelId });
    await waitUntil(
      () => fx.fake.pendingRequests().some((r) => r.route === THREAD_CREATE && r.fault === 'hold' && r.bodyAt !== undefined),
      'the lane held',
    );
    await fx.bot.kill('SIGKILL');
    held.release();
    const name = (await fx.transfer(id)).file_name;
    const lanes = () => fx.fake.threads(channelId).filter((x) => x.name.startsWith(name));
    await waitUntil(() => lanes().some((x) => x.name === `${name} · 2/3`), 'the lane made after the kill');
    expect((await fx.transfer(id)).threads.map((l) => l.lane)).toEqual([0]);

    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error'], 30_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(
      lanes()
        .map((x) => x.name)
        .sort(),
    ).toEqual([name, `${name} · 2/3`, `${name} · 3/3`]);
    expect(
      lanes()
        .map((x) => x.id)
        .sort(),
    ).toEqual(t.threads.map((l) => l.id).sort());
    expect(postedPartNames(fx.fake, id).sort()).toEqual(['001', '002', '003', '004', '005'].map((n) => `${name}.part${n}`));
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });
});

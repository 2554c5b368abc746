/**
 * Lanes (README, 'Lanes') when the run is cut short: the bot killed mid-transfer, and a lane's
 * thread deleted by a moderator. PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3, one part a message;
 * the bot as its own process against the fake Discord, its answers held where the test needs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

const MESSAGE_CREATE = 'POST /channels/:id/messages';

const partNames = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}.part${String(i + 1).padStart(3, '0')}`);

/** Each part of a transfer in the live messages, by name: a part posted twice shows twice. */
function livePartNames(fx: BotFixture, transferId: string): string[] {
  return fx.fake
    .messages()
    .filter((m) => m.content.includes(transferId))
    .flatMap((m) => m.attachments.filter((a) => a.filename.includes('.part')).map((a) => a.filename))
    .sort();
}

describe('GIVEN PARTS_IN=thread and MAX_PARALLEL_UPLOADS=3', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({ env: { PARTS_IN: 'thread', MAX_PARALLEL_UPLOADS: '3', MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN the bot is killed mid-transfer and started again THEN it reuses its three lanes, makes no thread, and posts each part once', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'killed lanes.bin'), 7 * MIB, 91);
    // Once two parts are posted, part messages are held once their bodies are in: Discord creates them
    // after the bot is gone, so the start-up check must find them in their lanes.
    const posted = () => fx.fake.messages().filter((m) => m.attachments.length > 0).length;
    const from = posted() + 2;
    const held = heldAnswer();
    let holding = true;
    fx.fake.faults.add({
      route: (r) => holding && r.route === MESSAGE_CREATE && r.path !== `/channels/${channelId}/messages` && posted() >= from,
      kind: 'hold',
      afterBody: true,
      until: held.hold,
      times: 100,
    });
    const id = await fx.split('killed lanes.bin', { chunkSizeMiB: 1, channelId });
    await waitUntil(() => fx.fake.pendingRequests().some((r) => r.fault === 'hold' && r.bodyAt !== undefined), 'a part held after two, its body in');
    const before = await fx.transfer(id);
    expect(before.threads.map((t) => t.lane)).toEqual([0, 1, 2]);
    const threadsBefore = fx.fake.threads(channelId).length;
    await fx.bot.kill('SIGKILL');
    holding = false;
    const storedBefore = posted();
    held.release();
    await waitUntil(
      () => posted() > storedBefore && !fx.fake.pendingRequests().some((r) => r.fault === 'hold'),
      'the held parts stored after the kill',
    );
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error'], 30_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.threads).toEqual(before.threads);
    expect(fx.fake.threads(channelId)).toHaveLength(threadsBefore);
    expect(postedPartNames(fx.fake, id).sort()).toEqual(partNames(t.file_name, 7));
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
    // Parts Discord made after the kill are in the record, where the fake stored them.
    for (const p of t.parts) expect(fx.fake.messages(p.channel_id).some((m) => m.id === p.message_id)).toBe(true);
  });

  /** Three parts, one in each lane; lane 1 deleted by a moderator once its part is recorded, before the manifest: the transfer ends error. */
  async function emptiedLane(name: string, seed: number) {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, name), 3 * MIB, seed);
    const inThread = (r: { route: string; path: string }) => r.route === MESSAGE_CREATE && r.path !== `/channels/${channelId}/messages`;
    // All three with Discord at once (one in each lane): the first two answered, then the third.
    const firstTwo = heldAnswer();
    const third = heldAnswer();
    fx.fake.faults.add({ route: inThread, kind: 'hold', afterBody: true, until: firstTwo.hold, times: 2 });
    fx.fake.faults.add({ route: inThread, kind: 'hold', afterBody: true, until: third.hold, times: 1 });
    const id = await fx.split(name, { chunkSizeMiB: 1, channelId });
    const heldNow = () => fx.fake.pendingRequests().filter((r) => r.fault === 'hold' && r.route === MESSAGE_CREATE);
    await waitUntil(() => heldNow().length === 3, 'three part messages held');
    firstTwo.release();
    const two = await fx.waitForParts(id, 2);
    // The second lane holds a part, and gets no more: a moderator deletes it.
    const gone = two.threads.find((l) => l.lane === 1)!;
    expect(two.parts.some((p) => p.channel_id === gone.id)).toBe(true);
    fx.fake.moderateThread(gone.id, 'delete');
    third.release();
    const failed = await fx.waitForStatus(id, ['complete', 'error']);
    return { channelId, file, id, gone, failed };
  }

  async function resume(id: string) {
    const handle = await fx.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  }

  it('WHEN a moderator deletes a lane thread after its last part THEN the transfer does not end complete without it: error naming the thread, and /resume posts that part again', async () => {
    const { channelId, file, id, gone, failed } = await emptiedLane('lane emptied.bin', 93);
    expect(failed.status).toBe('error');
    expect(failed.notes.at(-1)).toContain(`<#${gone.id}> is gone`);
    await resume(id);
    await waitUntil(() => fx.fake.threads(channelId).some((x) => x.name === `${failed.file_name} · 2/3` && !x.deleted), 'a new thread for the lane');
    const t = await fx.waitForStatus(id, ['complete'], 30_000);
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 3));
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });

  it('WHEN a moderator deletes a lane thread mid-transfer THEN the transfer ends error naming it, and /resume posts again only the parts that were in it, in a new thread for that lane', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'lane deleted.bin'), 9 * MIB, 92);
    const inThread = (r: { route: string; path: string }) => r.route === MESSAGE_CREATE && r.path !== `/channels/${channelId}/messages`;
    // The first three part messages held once their bodies are in: one in each lane.
    const first = heldAnswer();
    fx.fake.faults.add({ route: inThread, kind: 'hold', afterBody: true, until: first.hold, times: 3 });
    const id = await fx.split('lane deleted.bin', { chunkSizeMiB: 1, channelId });
    const heldNow = () => fx.fake.pendingRequests().filter((r) => r.fault === 'hold' && r.route === MESSAGE_CREATE);
    await waitUntil(() => heldNow().length === 3, 'three part messages held');
    expect(new Set(heldNow().map((r) => r.path)).size).toBe(3);
    // Then every part message that arrives is held before Discord reads it.
    const later = heldAnswer();
    let holding = true;
    fx.fake.faults.add({ route: (r) => holding && inThread(r), kind: 'hold', until: later.hold, times: 100 });
    first.release();
    await fx.waitForParts(id, 3);
    // Messages held at once are spread: at least one of them is in a lane other than the transfer's own thread.
    const lanes = (await fx.transfer(id)).threads;
    const laneOf = (p: string) => lanes.find((l) => p === `/channels/${l.id}/messages`);
    await waitUntil(() => heldNow().some((r) => (laneOf(r.path)?.lane ?? 0) > 0), 'a part message held in lane 2 or 3');
    const gone = laneOf(heldNow().find((r) => (laneOf(r.path)?.lane ?? 0) > 0)!.path)!;
    fx.fake.moderateThread(gone.id, 'delete');
    holding = false;
    later.release();
    const failed = await fx.waitForStatus(id, ['complete', 'error']);
    expect(failed.status).toBe('error');
    expect(failed.notes.join('\n')).toContain(`the transfer's thread <#${gone.id}> is gone (deleted?); /resume posts the rest in a new thread`);
    const lost = failed.parts.filter((p) => p.channel_id === gone.id).map((p) => p.name);
    expect(lost.length).toBeGreaterThan(0);

    const handle = await fx.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    const laneName = `${failed.file_name} · ${gone.lane + 1}/3`;
    await waitUntil(() => fx.fake.threads(channelId).some((x) => x.name === laneName && !x.deleted), 'a new thread for the lane');
    const t = await fx.waitForStatus(id, ['complete'], 30_000);
    // The lane replaced (a new id), the others kept; no part in the deleted thread.
    const replaced = t.threads.find((l) => l.lane === gone.lane)!;
    expect(replaced.id).not.toBe(gone.id);
    expect(t.threads.filter((l) => l.lane !== gone.lane)).toEqual(failed.threads.filter((l) => l.lane !== gone.lane));
    expect(fx.fake.threads(channelId).find((x) => x.id === replaced.id)?.name).toBe(laneName);
    expect(t.parts.some((p) => p.channel_id === gone.id)).toBe(false);
    // Each part live once; ever posted twice: only those that were in the deleted thread.
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 9));
    expect(postedPartNames(fx.fake, id).sort()).toEqual([...partNames(t.file_name, 9), ...lost].sort());
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });

  it('WHEN a lane is gone and the bot now runs with PARTS_IN=channel THEN /resume drops that lane, makes none, and finishes in the lanes that remain', async () => {
    const { channelId, file, id, gone, failed } = await emptiedLane('lane dropped.bin', 94);
    expect(failed.status).toBe('error');
    const threadsBefore = fx.fake.threads(channelId).length;
    // Last in this file: the bot keeps this setting.
    await fx.restartBot({ PARTS_IN: 'channel' });
    await resume(id);
    await waitUntil(
      () => fx.fake.messages().some((m) => m.content.includes(id) && m.attachments.some((a) => a.filename.endsWith('.manifest.json'))),
      'the manifest',
    );
    const t = await fx.waitForStatus(id, ['complete'], 30_000);
    expect(t.threads).toEqual(failed.threads.filter((l) => l.id !== gone.id));
    expect(fx.fake.threads(channelId)).toHaveLength(threadsBefore);
    expect(t.parts.every((p) => t.threads.some((l) => l.id === p.channel_id))).toBe(true);
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 3));
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });
});

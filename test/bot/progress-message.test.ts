/**
 * The progress message ends showing the transfer's end state even when Discord's REST API
 * fails around the end: the final edit is retried with backoff, and a start-up after one that
 * never landed makes it then (`progress_edit_landed` in the record).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const EDIT = 'PATCH /channels/:id/messages/:mid';

/** Polls `read` until `done` holds, at most `timeoutMs` (bounded). */
async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

describe('the final edit of the progress message survives a REST outage', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  /** A /split whose parts all get 500 (it ends error); the first edit lands, the next `failedEdits` get 500 (or wait `slowEditMs`, or, with `hangEdits`, are never answered). */
  async function failingSplit(failedEdits: number, slowEditMs = 0, hangEdits = false) {
    // One edit while running (the interval outlasts the test): the PATCHes after it are the final edit's.
    fx = await startBotFixture({ env: { PROGRESS_EDIT_INTERVAL_MS: '600000', MAX_CHUNKS_PER_MESSAGE: '1', RETRY_LIMIT_PER_CHUNK: '2' } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 3 * MIB, 9);
    fx.fake.faults.add({ route: MESSAGES, kind: 'status', status: 500, after: 1, times: 1_000 });
    if (failedEdits > 0) fx.fake.faults.add({ route: EDIT, kind: 'status', status: 500, after: 1, times: failedEdits });
    if (slowEditMs > 0) fx.fake.faults.add({ route: EDIT, kind: 'delay', ms: slowEditMs, after: 1 });
    if (hangEdits) fx.fake.faults.add({ route: EDIT, kind: 'hang', after: 1, times: 1_000 });
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['error', 'complete']);
    expect(t.status).toBe('error');
    const progressText = () => fx!.fake.messages().find((m) => m.id === t.progress_message_id)?.content ?? '';
    return { id, progressText };
  }

  it('GIVEN the final edit fails twice THEN it is retried and the message shows the end state', async () => {
    const { id, progressText } = await failingSplit(2);
    expect(await eventually(progressText, (text) => /error/.test(text))).toMatch(/❌ error/);
    expect(fx!.fake.requests.filter((r) => r.route === EDIT && r.status === 500)).toHaveLength(2);
    expect(
      (
        await eventually(
          () => fx!.transfer(id),
          (t) => t.progress_edit_landed,
        )
      ).progress_edit_landed,
    ).toBe(true);
  });

  it('GIVEN every retry of the final edit fails THEN the record says so, and the next start fixes the message', async () => {
    const { id, progressText } = await failingSplit(1_000);
    const stale = await eventually(
      () => fx!.transfer(id),
      (t) => !t.progress_edit_landed,
    );
    expect(stale.progress_edit_landed).toBe(false);
    expect(progressText()).toMatch(/uploading/);
    fx!.fake.faults.clear();
    await fx!.restartBot();
    expect(await eventually(progressText, (text) => /error/.test(text))).toMatch(/❌ error/);
    expect(
      (
        await eventually(
          () => fx!.transfer(id),
          (t) => t.progress_edit_landed,
        )
      ).progress_edit_landed,
    ).toBe(true);
  });

  it('GIVEN the bot killed while its end-state edit waits for Discord THEN the next start makes the edit', async () => {
    const { id, progressText } = await failingSplit(0, 0, true);
    const hung = await eventually(
      () => fx!.fake.requests.filter((r) => r.route === EDIT && r.fault === 'hang').length,
      (n) => n > 0,
    );
    expect(hung).toBeGreaterThan(0);
    expect(progressText()).not.toMatch(/❌ error/);
    fx!.fake.faults.clear();
    await fx!.restartBot();
    expect(await eventually(progressText, (text) => /❌ error/.test(text))).toMatch(/❌ error/);
    expect(
      (
        await eventually(
          () => fx!.transfer(id),
          (t) => t.progress_edit_landed,
        )
      ).progress_edit_landed,
    ).toBe(true);
  });

  it('GIVEN /resume while the end-state edit of the failed run is still on its way THEN it is accepted and the transfer resumes once that run settles', async () => {
    const { id } = await failingSplit(0, 2_000);
    fx!.fake.faults.clear();
    const resume = await fx!.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    expect(resume.original()?.content).toMatch(/^Resuming/);
    const done = await fx!.waitForStatus(id, ['complete', 'cancelled'], 30_000);
    expect(done.status, done.notes.join('; ')).toBe('complete');
    expect(rebuildFromFake(fx!.fake, id).size).toBe(3 * MIB);
  });
});

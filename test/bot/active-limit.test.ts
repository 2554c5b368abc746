/**
 * MAX_ACTIVE_TRANSFERS holds when commands arrive together: a command's check and its record
 * are separated by awaits (defer, fsync, the URL check of /upload), so the slot is reserved
 * at the check and given back when the command fails.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { InteractionHandle, InteractionInput } from '../support/fake-discord/types.js';
import { heldAnswer } from '../support/held.js';
import { startHttpsServer, uploadEnv, type TestHttpsServer } from '../support/https-server.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('MAX_ACTIVE_TRANSFERS under concurrency', () => {
  let fx: BotFixture;
  let srv: TestHttpsServer;
  beforeAll(async () => {
    srv = await startHttpsServer();
    srv.routes.set('/gone', { kind: 'status', status: 404 });
    fx = await startBotFixture({
      env: {
        MAX_ACTIVE_TRANSFERS: '2',
        ...uploadEnv(),
      },
    });
    for (const name of ['a.bin', 'b.bin', 'c.bin']) await writeSeededFile(path.join(fx.filesRoot, name), 3 * MIB, name.charCodeAt(0));
  });
  afterAll(async () => {
    await fx?.stop();
    await srv?.stop();
  });

  const as = (user: string): Partial<InteractionInput> => ({ user: { id: user }, permissions: PERMISSIONS.ADMINISTRATOR });
  const split = (file: string, user: string): InteractionInput => ({
    name: 'split',
    ...as(user),
    options: [
      { name: 'path', type: 3, value: file },
      { name: 'chunk_size', type: 4, value: 1 },
    ],
  });
  const upload = (url: string, user: string): InteractionInput => ({ name: 'upload', ...as(user), options: [{ name: 'url', type: 3, value: url }] });
  const answered = async (handle: InteractionHandle) => {
    await handle.waitFor((h) => Boolean(h.original()?.content), 35_000);
    return { content: handle.original()?.content ?? '', ephemeral: handle.ephemeral() };
  };
  const ownedBy = async (user: string) => (await fx.readProgress()).active_transfers.filter((t) => t.owner_id === user);

  it('GIVEN a limit of 2 WHEN one member sends three /split at the same instant THEN exactly two are accepted and the third is refused ephemerally', async () => {
    const member = '500000000000000001';
    // Posts held until every answer is in keep the accepted transfers unfinished while the third is judged.
    const held = heldAnswer();
    fx.fake.faults.add({ route: MESSAGES, kind: 'hold', until: held.hold, times: 1_000 });
    try {
      // Sent without waiting in between: the bot receives all three before answering any.
      const handles = await Promise.all(['a.bin', 'b.bin', 'c.bin'].map((f) => fx.fake.sendInteraction(split(f, member))));
      const answers = await Promise.all(handles.map(answered));
      const accepted = answers.filter((a) => /started/.test(a.content));
      const refused = answers.filter((a) => !/started/.test(a.content));
      expect(accepted).toHaveLength(2);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.ephemeral).toBe(true);
      expect(refused[0]!.content).toMatch(/already have 2 unfinished transfers \(the limit is 2\)/);
      expect(await ownedBy(member)).toHaveLength(2);
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
  });

  it('GIVEN commands that fail after the limit was checked THEN they give their slot back', async () => {
    const member = '500000000000000002';
    const failures = [
      upload(`https://files.test:${srv.port}/gone`, member), // the URL check fails
      split('missing.bin', member), // the path check fails
      upload(`https://files.test:${srv.port}/gone`, member),
    ];
    for (const input of failures) {
      const answer = await answered(await fx.fake.sendInteraction(input));
      expect(answer.ephemeral).toBe(true);
      expect(answer.content).toMatch(/HTTP 404|No such file/);
    }
    expect(await ownedBy(member)).toHaveLength(0);
    // Both slots are free again.
    for (const file of ['a.bin', 'b.bin']) {
      const answer = await answered(await fx.fake.sendInteraction(split(file, member)));
      expect(answer.content).toMatch(/started/);
    }
    expect(await ownedBy(member)).toHaveLength(2);
  });

  it('GIVEN all of the above THEN the bot logged no error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

/**
 * Every reply fits in one Discord message (2,000 characters), however long the input it
 * quotes: a reply that does not fit is refused by Discord, and the user hears nothing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { InteractionInput } from '../support/fake-discord/types.js';
import { startHttpsServer, uploadEnv, type TestHttpsServer } from '../support/https-server.js';
import { seededBytes, writeSeededFile } from '../support/random-file.js';

const LIMIT = 2000;

describe('replies fit in one message', () => {
  let fx: BotFixture;
  let srv: TestHttpsServer;
  beforeAll(async () => {
    srv = await startHttpsServer();
    fx = await startBotFixture({
      env: {
        MAX_ACTIVE_TRANSFERS: '50',
        ...uploadEnv(),
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
    await srv?.stop();
  });

  /** Sends a command as an administrator; resolves with its (first) answer's text. */
  const answer = async (input: Omit<InteractionInput, 'permissions'>) => {
    const handle = await fx.fake.sendInteraction({ permissions: PERMISSIONS.ADMINISTRATOR, ...input });
    await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
    return { content: handle.original()?.content ?? '', ephemeral: handle.ephemeral() };
  };

  const longId = `upload_${'a'.repeat(2_100)}`;
  const refusals: [string, Omit<InteractionInput, 'permissions'>, RegExp][] = [
    ['/status with a 2,100-character id', { name: 'status', options: [{ name: 'transfer', type: 3, value: longId }] }, /No transfer/],
    ['/cancel with a 2,100-character id', { name: 'cancel', options: [{ name: 'transfer', type: 3, value: longId }] }, /No transfer/],
    ['/resume with a 2,100-character id', { name: 'resume', options: [{ name: 'transfer', type: 3, value: longId }] }, /No transfer/],
    [
      '/split with a 5,000-character path',
      { name: 'split', options: [{ name: 'path', type: 3, value: `${'d/'.repeat(2_500)}x.bin` }] },
      /No such file/,
    ],
    [
      '/split with a 5,000-character path outside the folder',
      { name: 'split', options: [{ name: 'path', type: 3, value: `${'../'.repeat(1_700)}x` }] },
      /outside the files folder/,
    ],
  ];

  it.each(refusals)('GIVEN %s THEN the refusal arrives, ephemeral, within 2,000 characters, and still says why', async (_label, input, reason) => {
    const { content, ephemeral } = await answer(input);
    expect(ephemeral).toBe(true);
    expect(content.length).toBeLessThanOrEqual(LIMIT);
    expect(content).toMatch(reason);
  });

  it('GIVEN an /upload URL of 1,900 characters THEN the transfer starts and says so within 2,000 characters', async () => {
    const route = `/${'directory/'.repeat(190)}f.bin`;
    srv.routes.set(route, { kind: 'file', data: seededBytes(4_096, 5) });
    const { content } = await answer({ name: 'upload', options: [{ name: 'url', type: 3, value: `https://files.test:${srv.port}${route}` }] });
    expect(content).toMatch(/started/);
    expect(content).toContain('4096 bytes in 1 part of ');
    expect(content).toMatch(/Follow it with/);
    expect(content.length).toBeLessThanOrEqual(LIMIT);
    const id = /`(upload_[a-z0-9]+)`/.exec(content)?.[1];
    expect((await fx.waitForStatus(id!, ['complete', 'error'])).status).toBe('complete');
  });

  it('GIVEN an /upload URL of 1,990 characters that answers 404 THEN the refusal says so within 2,000 characters', async () => {
    const { content, ephemeral } = await answer({
      name: 'upload',
      options: [{ name: 'url', type: 3, value: `https://files.test:${srv.port}/${'missing/'.repeat(245)}f.bin` }],
    });
    expect(ephemeral).toBe(true);
    expect(content).toMatch(/answered HTTP 404/);
    expect(content.length).toBeLessThanOrEqual(LIMIT);
  });

  it('GIVEN fifteen transfers of files with 200-character names THEN /status lists them within 2,000 characters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const name = `${String(i).padStart(2, '0')}${'n'.repeat(194)}.bin`;
      await writeSeededFile(path.join(fx.filesRoot, name), 1_000, i);
      ids.push(await fx.split(name));
    }
    for (const id of ids) await fx.waitForStatus(id, ['complete']);
    const { content } = await answer({ name: 'status' });
    expect(content.length).toBeLessThanOrEqual(LIMIT);
    // Whole lines only: the newest transfers, then a mark that more were left out.
    const lines = content.split('\n');
    expect(lines[0]).toMatch(/^`upload_[a-z0-9]+` \d{2}n{194}\.bin · complete · 1\/1 parts$/);
    expect(lines.at(-1)).toBe('…');
  });

  it('GIVEN all of the above THEN the bot logged no error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

/**
 * `npm run start:sharded` refusing what cannot work: a config no set of shards can run with,
 * a token Discord rejects (both before any shard is spawned), and a shard that dies at every
 * start, which is spawned again with a growing pause and then given up on; and warning of
 * transfers left in npm start's own file.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, REPO_ROOT, startBotProcess } from '../support/bot-process.js';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { goneWithin, TWO_SHARDS } from '../support/sharded-fixture.js';
import { sampleTransfer } from '../store/helpers.js';
import { FileStore } from '../../src/store/file-store.js';
import { tempDirForFile } from '../support/temp.js';

describe('what the shard manager refuses, and warns of', () => {
  let fake: FakeDiscord;
  let work: string;
  beforeAll(async () => {
    fake = await startFakeDiscord(TWO_SHARDS);
    work = await tempDirForFile('dfs-sharded-refused-');
  });
  afterAll(async () => {
    await fake?.stop();
  });

  const managerWith = (env: Record<string, string>) =>
    startBotProcess({
      cwd: work,
      waitReady: false,
      script: path.join(REPO_ROOT, 'src/shard.ts'),
      env: { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, FILES_ROOT: work, PROGRESS_FILE_PATH: path.join(work, 'p.json'), ...env },
    });

  it.each([
    [{ TOTAL_SHARDS: '2', SHARD_LIST: '0,5' }, /SHARD_LIST names shard 5, but TOTAL_SHARDS=2 has shards 0 to 1/],
    [{ METRICS_PORT: '47000', WEB_PORT: '47001' }, /METRICS_PORT=47000 and WEB_PORT=47001 overlap/],
    [{ WEB_PORT: '47010', WEB_PUBLIC_URL: 'https://files.example.org' }, /WEB_PUBLIC_URL has no \{shard\}/],
    [{ DISCORD_TOKEN: 'not-the-token-of-this-bot' }, /rejected DISCORD_TOKEN \(401 Unauthorized\)/],
  ])('GIVEN %j THEN the manager exits 1 saying why, before spawning any shard', async (env, problem) => {
    const manager = await managerWith(env);
    const exit = await exitWithin(manager, 20_000);
    if (exit === 'still running') await manager.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 1 });
    expect(manager.stderr()).toMatch(problem);
    expect(manager.logs.some((l) => l.event === 'shard_spawned')).toBe(false);
    expect(fake.gatewayConnections()).toBe(0);
  });

  it('GIVEN a shard that cannot start (another live bot holds its progress file) THEN the manager spawns it again, backing off, then gives up, stops the other shard and exits 1', async () => {
    const progressPath = path.join(work, 'held.json');
    // This test's own process is the live holder.
    await fs.writeFile(
      path.join(work, 'held.shard-0.lock'),
      JSON.stringify({ pid: process.pid, hostname: os.hostname(), started_at: new Date().toISOString() }),
    );
    const manager = await managerWith({ PROGRESS_FILE_PATH: progressPath });
    const exit = await exitWithin(manager, 60_000);
    if (exit === 'still running') await manager.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 1 });
    const deaths = manager.logs.filter((l) => l.event === 'shard_died');
    expect(deaths.map((l) => [l.shard, l.failures])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [0, 5],
    ]);
    // Backing off from 0.5 s, doubling, and never sooner than Discord's IDENTIFY pace (5.5 s since its last start).
    const waits = deaths.slice(0, -1).map((l) => l.respawn_in_ms as number);
    [500, 1000, 2000, 4000].forEach((backoff, i) => expect(waits[i]).toBeGreaterThanOrEqual(backoff));
    expect(Math.max(...waits)).toBeLessThanOrEqual(5_500);
    expect(manager.stderr()).toMatch(/another discord-file-splitter .* is using .*held\.shard-0\.json/);
    expect(manager.logs.find((l) => l.event === 'shard_manager_stopping')?.reason).toMatch(/shard 0 exited 5 times in a row before it was ready/);
    const other = manager.logs.filter((l) => l.event === 'shard_spawned' && l.shard === 1).map((l) => l.pid as number);
    expect(other).toHaveLength(1);
    expect(await goneWithin(other[0]!, 5_000)).toBe(true);
  });

  it("GIVEN unfinished transfers in npm start's own progress file THEN the manager warns that no shard resumes them, and runs the shards", async () => {
    const progressPath = path.join(work, 'unsharded.json');
    const store = await FileStore.open(progressPath);
    await store.create(sampleTransfer('upload_left01'));
    await store.close();
    const manager = await managerWith({ PROGRESS_FILE_PATH: progressPath });
    try {
      const warning = await manager.waitForLog((l) => l.event === 'unsharded_transfers_left', 20_000);
      expect(warning.transfers).toEqual(['upload_left01']);
      await manager.waitForLog((l) => l.event === 'shards_ready', 60_000);
      manager.child.kill('SIGTERM');
      expect(await exitWithin(manager, 20_000)).toMatchObject({ code: 0 });
    } finally {
      await manager.kill('SIGKILL');
    }
  });
});

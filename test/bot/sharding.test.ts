/**
 * `npm run start:sharded` (README, 'Sharding') against a fake Discord that requires sharding:
 * each guild's transfers live, and resume, in the shard that owns the guild; a shard killed
 * mid-transfer is spawned again and finishes; hosts split the shards with SHARD_LIST; the
 * manager's end, clean or not, takes its shards with it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unexpectedErrors } from '../support/bot-fixture.js';
import { exitWithin } from '../support/bot-process.js';
import { shardOfGuild, startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord, InteractionHandle } from '../support/fake-discord/types.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { freePortRun, listeningPorts } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedManifests, postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { goneWithin, memoryOf, startShardedFixture, TWO_SHARDS, type ShardedFixture } from '../support/sharded-fixture.js';
import type { TransferRecord } from '../../src/store/schema.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const MESSAGES = 'POST /channels/:id/messages';

/** What /status in a guild answers (ephemeral, to the default member). */
async function statusIn(fx: ShardedFixture, guildId: string): Promise<string> {
  const handle: InteractionHandle = await fx.command({ name: 'status', guildId });
  await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  return handle.original()?.content ?? '';
}

/** Each part of the transfer posted exactly once, the whole rebuilt byte for byte, one manifest. */
function expectPostedOnce(fake: FakeDiscord, t: TransferRecord, sha: string): void {
  expect(t.status, t.notes.join('; ')).toBe('complete');
  const names = postedPartNames(fake, t.id);
  expect(new Set(names).size, `duplicates: ${names.join(',')}`).toBe(names.length);
  expect(names.length).toBe(t.total_chunks);
  expect(rebuildFromFake(fake, t.id).sha256).toBe(sha);
  expect(postedManifests(fake, t.id)).toHaveLength(1);
}

describe('two shards on one host', () => {
  let fx: ShardedFixture;
  let metricsPort: number;
  let webPort: number;

  beforeAll(async () => {
    metricsPort = await freePortRun(4);
    webPort = metricsPort + 2;
    // TOTAL_SHARDS unset: auto, asked of the fake's /gateway/bot (2).
    fx = await startShardedFixture({
      env: {
        MAX_CHUNKS_PER_MESSAGE: '1',
        METRICS_PORT: String(metricsPort),
        WEB_PORT: String(webPort),
        WEB_PUBLIC_URL: 'https://shard{shard}.files.example.org',
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it("GIVEN two guilds, one on each shard WHEN a /split runs in each THEN both complete, each in its own shard's progress file, and /status in each guild sees its own transfer only", async () => {
    const [guild0, guild1] = [fx.guildOn(0), fx.guildOn(1)];
    const sha0 = await writeSeededFile(path.join(fx.filesRoot, 'zero.bin'), 3 * MIB + 5, 10);
    const sha1 = await writeSeededFile(path.join(fx.filesRoot, 'one.bin'), 2 * MIB + 9, 11);
    const id0 = await fx.split('zero.bin', { guildId: guild0.id, chunkSizeMiB: 1 });
    const id1 = await fx.split('one.bin', { guildId: guild1.id, chunkSizeMiB: 1 });
    const done = [await fx.shard(0).waitForStatus(id0, ['complete', 'error']), await fx.shard(1).waitForStatus(id1, ['complete', 'error'])];
    expectPostedOnce(fx.fake, done[0]!, sha0);
    expectPostedOnce(fx.fake, done[1]!, sha1);
    expect((await fx.shard(0).readProgress()).active_transfers.map((t) => [t.id, t.guild_id])).toEqual([[id0, guild0.id]]);
    expect((await fx.shard(1).readProgress()).active_transfers.map((t) => [t.id, t.guild_id])).toEqual([[id1, guild1.id]]);
    // npm start's own file is nobody's here.
    await expect(fs.access(fx.progressPath)).rejects.toThrow();
    // The same member in both guilds: each shard answers from its own file.
    const [status0, status1] = [await statusIn(fx, guild0.id), await statusIn(fx, guild1.id)];
    expect(status0).toContain(id0);
    expect(status0).not.toContain(id1);
    expect(status1).toContain(id1);
    expect(status1).not.toContain(id0);
    // Metrics on METRICS_PORT + id, each counting its own shard's transfers.
    const ports = await listeningPorts(fx.pidOf(1));
    if (ports) expect(ports).toContain(metricsPort + 1);
    for (const id of [0, 1]) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort + id}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      expect(text).toMatch(/^dfs_transfers\{status="complete"\} 1$/m);
    }
    // The web page on WEB_PORT + id, its links on WEB_PUBLIC_URL with the shard's id.
    if (ports) expect(ports).toContain(webPort + 1);
    for (const id of [0, 1]) {
      const handle = await fx.command({ name: 'dashboard', guildId: fx.guildOn(id).id });
      expect(handle.original()?.content).toMatch(new RegExp(`https://shard${id}\\.files\\.example\\.org/login\\?token=`));
      expect(fx.logsOf(id).find((l) => l.event === 'web_listening')).toMatchObject({
        port: webPort + id,
        public_url: `https://shard${id}.files.example.org`,
      });
    }
    // Each complete transfer's Download button links to its own shard's WEB_PUBLIC_URL.
    for (const id of [0, 1]) {
      const buttons = () => fx.fake.messages().find((m) => m.id === done[id]!.progress_message_id)?.components ?? [];
      await waitUntil(() => buttons().length > 0, `shard ${id}'s Download button`);
      expect(JSON.stringify(buttons())).toMatch(new RegExp(`"url":"https://shard${id}\\.files\\.example\\.org/d/[\\w-]+\\.[\\w-]+/`));
    }
    expect(fx.logsOf(1).find((l) => l.msg === 'ready')).toMatchObject({ shard: 1, guilds: 1 });
    expect(unexpectedErrors(fx.manager)).toEqual([]);

    const memory = {
      manager: await memoryOf(fx.manager.child.pid!),
      'shard 0': await memoryOf(fx.pidOf(0)),
      'shard 1': await memoryOf(fx.pidOf(1)),
    };
    for (const [name, m] of Object.entries(memory)) {
      if (m === null) continue;
      expect(m.peakMiB).toBeGreaterThan(10);
      console.log(`sharding test memory (through tsx): ${name} peak ${m.peakMiB.toFixed(1)} MiB, now ${m.rssMiB.toFixed(1)} MiB`);
    }
  });

  it("GIVEN a transfer running in each shard WHEN shard 1's process is SIGKILLed THEN the manager spawns it again, its transfer resumes and completes with each part once, and shard 0's never stops", async () => {
    const [guild0, guild1] = [fx.guildOn(0), fx.guildOn(1)];
    const sha0 = await writeSeededFile(path.join(fx.filesRoot, 'long.bin'), 40 * MIB, 20);
    const sha1 = await writeSeededFile(path.join(fx.filesRoot, 'killed.bin'), 12 * MIB + 3, 21);
    // Each channel's posts held once 3 more parts are in it, until the kill has landed: both are mid-way then, however fast the machine.
    const holdInChannel = (channelId: string) => {
      const held = heldAnswer();
      const posted = () => fx.fake.messages(channelId).filter((m) => m.attachments.length > 0).length;
      const from = posted() + 3;
      const route = (r: { route: string; path: string }) => r.route === MESSAGES && r.path.includes(channelId) && posted() >= from;
      fx.fake.faults.add({ route, kind: 'hold', until: held.hold, times: 10_000 });
      return held.release;
    };
    const releases = [holdInChannel(guild0.channels[0]!.id), holdInChannel(guild1.channels[0]!.id)];
    const id0 = await fx.split('long.bin', { guildId: guild0.id, chunkSizeMiB: 1 });
    const id1 = await fx.split('killed.bin', { guildId: guild1.id, chunkSizeMiB: 1 });

    // Shard 0's transfer, watched from start to end: it must never be interrupted.
    const seen0 = new Set<string>();
    let watching = true;
    const watch0 = (async () => {
      const deadline = Date.now() + 120_000;
      while (watching && Date.now() < deadline) {
        const t = await fx
          .shard(0)
          .transfer(id0)
          .catch(() => null);
        if (t) seen0.add(t.status);
        if (t?.status === 'complete') return;
        await sleep(25);
      }
    })();

    expect((await fx.shard(1).waitForParts(id1, 3)).status).toBe('in_progress');
    expect((await fx.shard(0).waitForParts(id0, 3)).status).toBe('in_progress');
    const [pid0, killed] = [fx.pidOf(0), fx.pidOf(1)];
    const parts0AtKill = (await fx.shard(0).transfer(id0)).completed_chunks.length;
    process.kill(killed, 'SIGKILL');
    // Let go only after the kill: the dead shard's held requests never complete, so they create nothing.
    expect(await goneWithin(killed, 10_000)).toBe(true);
    for (const release of releases) release();
    const respawned = await fx.manager.waitForLog((l) => l.event === 'shard_ready' && l.shard === 1 && l.pid !== killed, 60_000);
    // Shard 0 goes on posting after shard 1 died (bounded: 600 looks, 100 ms apart).
    let at0 = await fx.shard(0).transfer(id0);
    for (let i = 0; i < 600 && at0.status !== 'complete' && at0.completed_chunks.length <= parts0AtKill; i++) {
      await sleep(100);
      at0 = await fx.shard(0).transfer(id0);
    }
    expect(at0.status === 'complete' || at0.completed_chunks.length > parts0AtKill, `${parts0AtKill} → ${at0.completed_chunks.length}`).toBe(true);

    const t1 = await fx.shard(1).waitForStatus(id1, ['complete', 'error', 'cancelled'], 60_000);
    expectPostedOnce(fx.fake, t1, sha1);
    const t0 = await fx.shard(0).waitForStatus(id0, ['complete', 'error', 'cancelled'], 60_000);
    watching = false;
    await watch0;
    fx.fake.faults.clear();
    expectPostedOnce(fx.fake, t0, sha0);
    expect([...seen0].filter((s) => s !== 'pending' && s !== 'in_progress' && s !== 'complete')).toEqual([]);

    // The manager saw shard 1 die once and spawned it again; shard 0 is the process it was.
    const deaths = fx.manager.logs.filter((l) => l.event === 'shard_died');
    expect(deaths.map((l) => [l.shard, l.pid, l.signal])).toEqual([[1, killed, 'SIGKILL']]);
    expect(fx.pidOf(0)).toBe(pid0);
    expect(respawned.pid).toBe(fx.pidOf(1));
    const resumed = fx.logsOf(1).find((l) => l.msg === 'resuming interrupted transfers');
    expect(resumed?.transfers).toContain(id1);
    // (A /split in the first second after `ready` is started by the start-up resume too, as
    // `pending`: only this test's transfer, started later, matters here.)
    const shard0 = fx.logsOf(0);
    expect(shard0.filter((l) => l.msg === 'resuming interrupted transfers' && (l.transfers as string[]).includes(id0))).toEqual([]);
    expect(shard0.filter((l) => l.level >= 40 && l.event !== 'web_secret_random').map((l) => JSON.stringify(l).slice(0, 600))).toEqual([]);
  });

  it('GIVEN both shards running WHEN the manager gets SIGTERM (twice, as under npm run start:sharded) THEN every shard stops cleanly and the manager exits 0', async () => {
    const pids = [fx.pidOf(0), fx.pidOf(1)];
    fx.manager.child.kill('SIGTERM');
    await fx.manager.waitForLog((l) => l.event === 'shard_manager_stopping');
    // npm forwards the signal that systemd or the terminal also sent the manager itself.
    fx.manager.child.kill('SIGTERM');
    const exit = await exitWithin(fx.manager, 20_000);
    expect(exit).toMatchObject({ code: 0 });
    for (const pid of pids) expect(await goneWithin(pid, 5_000)).toBe(true);
    expect(fx.logsOf(0).some((l) => l.msg === 'stopped')).toBe(true);
    expect(fx.logsOf(1).some((l) => l.msg === 'stopped')).toBe(true);
    expect(fx.manager.logs.filter((l) => l.event === 'shard_stopped' && l.exit_code === 0).map((l) => l.shard)).toEqual(
      expect.arrayContaining([0, 1]),
    );
    // Their locks are released: nothing holds the shards' files any more.
    for (const id of [0, 1]) await expect(fs.access(fx.shard(id).progressPath.replace(/\.json$/, '.lock'))).rejects.toThrow();
  });
});

describe('two hosts, each running a part of the shards', () => {
  let fake: FakeDiscord;
  const hosts: ShardedFixture[] = [];

  beforeAll(async () => {
    fake = await startFakeDiscord({ ...TWO_SHARDS, guildCount: 4 });
    // One after the other: the second host's shard must not IDENTIFY before the fake knows the first.
    for (const list of ['0', '1']) {
      hosts.push(await startShardedFixture({ fake, env: { TOTAL_SHARDS: '2', SHARD_LIST: list, MAX_CHUNKS_PER_MESSAGE: '1' } }));
    }
  });
  afterAll(async () => {
    for (const host of hosts) await host.stop();
    await fake?.stop();
  });

  it('GIVEN SHARD_LIST=0 on one host and SHARD_LIST=1 on another of TOTAL_SHARDS=2 THEN each runs only its shard, with only its guilds, and records only their transfers', async () => {
    const [hostA, hostB] = hosts as [ShardedFixture, ShardedFixture];
    expect(hostA.manager.logs.filter((l) => l.event === 'shard_spawned').map((l) => l.shard)).toEqual([0]);
    expect(hostB.manager.logs.filter((l) => l.event === 'shard_spawned').map((l) => l.shard)).toEqual([1]);
    expect(hostA.logsOf(0).find((l) => l.msg === 'ready')).toMatchObject({ guilds: 2 });
    expect(hostB.logsOf(1).find((l) => l.msg === 'ready')).toMatchObject({ guilds: 2 });
    expect(fake.gatewaySessions().map((s) => `${s.shard?.join(' of ')}`)).toEqual(expect.arrayContaining(['0 of 2', '1 of 2']));
    expect(fake.gatewaySessions()).toHaveLength(2);

    const sha = await writeSeededFile(path.join(hostB.filesRoot, 'b.bin'), 2 * MIB, 30);
    await writeSeededFile(path.join(hostA.filesRoot, 'a.bin'), MIB + 1, 31);
    const idA = await hostA.split('a.bin', { guildId: hostA.guildOn(0).id, chunkSizeMiB: 1 });
    const idB = await hostB.split('b.bin', { guildId: hostB.guildOn(1).id, chunkSizeMiB: 1 });
    expect((await hostA.shard(0).waitForStatus(idA, ['complete', 'error'])).status).toBe('complete');
    expectPostedOnce(fake, await hostB.shard(1).waitForStatus(idB, ['complete', 'error']), sha);
    // Each host holds its own shard's file and nothing of the other's.
    await expect(fs.access(hostA.shard(1).progressPath)).rejects.toThrow();
    await expect(fs.access(hostB.shard(0).progressPath)).rejects.toThrow();
    // Every guild of shard 0 is answered from host A's file, every guild of shard 1 from host B's.
    for (const guild of fake.guilds) {
      const [mine, theirs] = shardOfGuild(guild.id, 2) === 0 ? [idA, idB] : [idB, idA];
      const status = await statusIn(hostA, guild.id);
      expect(status, `guild ${guild.id}`).toContain(mine);
      expect(status, `guild ${guild.id}`).not.toContain(theirs);
    }
    expect(unexpectedErrors(hostA.manager)).toEqual([]);
    expect(unexpectedErrors(hostB.manager)).toEqual([]);
  });

  it("GIVEN a host's manager is SIGKILLed THEN its shard stops by itself instead of running on without it", async () => {
    const hostB = hosts[1]!;
    const pid = hostB.pidOf(1);
    await hostB.manager.kill('SIGKILL');
    expect(await goneWithin(pid, 15_000)).toBe(true);
    expect(hostB.logsOf(1).some((l) => l.event === 'shard_manager_gone')).toBe(true);
    expect(hostB.logsOf(1).some((l) => l.msg === 'stopped')).toBe(true);
  });
});

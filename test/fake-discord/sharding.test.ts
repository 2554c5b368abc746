/** The fake Discord shards as Discord does: /gateway/bot's count, IDENTIFY's `shard`, 4010 and 4011, each guild's events on its shard only. */
import { afterEach, describe, expect, it } from 'vitest';
import { Client, GatewayIntentBits, ShardClientUtil } from 'discord.js';
import { WebSocket } from 'ws';
import { shardOfGuild, startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../support/fake-discord/index.js';
import { withTimeout } from '../support/wait.js';

let fake: FakeDiscord | undefined;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await fake?.stop();
  fake = undefined;
});

async function start(o: FakeDiscordOptions): Promise<FakeDiscord> {
  fake = await startFakeDiscord({ heartbeatIntervalMs: 1000, ...o });
  return fake;
}

/** A discord.js client logged in as shard `id` of `count`, ready. */
async function shardClient(f: FakeDiscord, id: number, count: number): Promise<Client> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], shards: [id], shardCount: count, rest: { api: f.apiUrl, timeout: 5000 } });
  clients.push(client);
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  await withTimeout(client.login(f.token), 5000, `login of shard ${id}`);
  await withTimeout(ready, 5000, `clientReady of shard ${id}`);
  return client;
}

/** The close code of one raw IDENTIFY with `shard` (undefined: the socket stayed open for 1 s after READY or its absence). */
async function identifyCloseCode(f: FakeDiscord, shard: unknown): Promise<number | undefined> {
  const ws = new WebSocket(`${f.gatewayUrl}?v=10&encoding=json`);
  try {
    return await withTimeout(
      new Promise<number | undefined>((resolve) => {
        ws.on('message', (raw: Buffer) => {
          const payload = JSON.parse(raw.toString('utf8')) as { op: number; t?: string };
          if (payload.op === 10) {
            const d = {
              token: f.token,
              intents: 1,
              properties: { os: 'linux', browser: 'x', device: 'x' },
              ...(shard === undefined ? {} : { shard }),
            };
            ws.send(JSON.stringify({ op: 2, d }));
          }
          if (payload.t === 'READY') setTimeout(() => resolve(undefined), 1000);
        });
        ws.on('close', (code) => resolve(code));
      }),
      5000,
      `IDENTIFY with shard ${JSON.stringify(shard)}`,
    );
  } finally {
    ws.terminate();
  }
}

describe('the fake Discord, sharded', () => {
  it('GIVEN shards 2 and max concurrency 16 WHEN GET /gateway/bot THEN it recommends 2 shards and allows 16 IDENTIFYs at once', async () => {
    const f = await start({ shards: 2, maxConcurrency: 16 });
    const res = await fetch(`${f.apiUrl}/v10/gateway/bot`, { headers: { Authorization: `Bot ${f.token}` }, signal: AbortSignal.timeout(5000) });
    expect(await res.json()).toEqual({
      url: f.gatewayUrl,
      shards: 2,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 16 },
    });
  });

  it('GIVEN four guilds over two shards THEN two fall on each shard, by the formula discord.js computes too', async () => {
    const f = await start({ shards: 2, guildCount: 4 });
    expect(f.guilds).toHaveLength(4);
    expect(f.guilds[0]!.id).toBe(f.guildId);
    const shards = f.guilds.map((g) => shardOfGuild(g.id, 2));
    expect(shards.filter((s) => s === 0)).toHaveLength(2);
    expect(shards.filter((s) => s === 1)).toHaveLength(2);
    for (const g of f.guilds) expect(shardOfGuild(g.id, 2)).toBe(ShardClientUtil.shardIdForGuildId(g.id, 2));
    expect(new Set(f.guilds.flatMap((g) => g.channels.map((c) => c.id))).size).toBe(4);
  });

  it('GIVEN two guilds on two shards WHEN two discord.js clients log in as shard 0 and shard 1 THEN each has only its guild, and an interaction reaches only the shard of its guild', async () => {
    const f = await start({ shards: 2, guildCount: 2, requireSharding: true, maxConcurrency: 2 });
    const onShard = (s: number) => f.guilds.find((g) => shardOfGuild(g.id, 2) === s)!;
    const [zero, one] = [await shardClient(f, 0, 2), await shardClient(f, 1, 2)];
    expect([...zero.guilds.cache.keys()]).toEqual([onShard(0).id]);
    expect([...one.guilds.cache.keys()]).toEqual([onShard(1).id]);
    const sessions = f.gatewaySessions();
    expect(sessions.find((s) => s.shard?.[0] === 0)?.shard).toEqual([0, 2]);
    expect(sessions.find((s) => s.shard?.[0] === 1)?.shard).toEqual([1, 2]);
    expect(sessions.every((s) => s.connected)).toBe(true);
    const seen: [number, string | null][] = [];
    zero.on('interactionCreate', (i) => seen.push([0, i.guildId]));
    one.on('interactionCreate', (i) => seen.push([1, i.guildId]));
    await f.sendInteraction({ name: 'status', guildId: onShard(1).id });
    await f.sendInteraction({ name: 'status', channelId: onShard(0).channels[0]!.id });
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200)); // room for a wrongly routed copy to arrive
    expect(seen.sort()).toEqual([
      [0, onShard(0).id],
      [1, onShard(1).id],
    ]);
  });

  it('GIVEN sharding required with 2 shards WHEN a session IDENTIFYs unsharded or with too few shards THEN it is closed with 4011; an impossible shard with 4010; [1, 2] is served', async () => {
    const f = await start({ shards: 2, guildCount: 2, requireSharding: true });
    expect(await identifyCloseCode(f, undefined)).toBe(4011);
    expect(await identifyCloseCode(f, [0, 1])).toBe(4011);
    expect(await identifyCloseCode(f, [2, 2])).toBe(4010);
    expect(await identifyCloseCode(f, [0, 'two'])).toBe(4010);
    expect(await identifyCloseCode(f, [1, 2])).toBeUndefined();
  });

  it('GIVEN no sharding asked of the fake WHEN one client logs in as the only shard THEN it has every guild and gets the interactions of each', async () => {
    const f = await start({ guildCount: 2, shards: 2 });
    const client = await shardClient(f, 0, 1);
    expect(client.guilds.cache.size).toBe(2);
    const seen: (string | null)[] = [];
    client.on('interactionCreate', (i) => seen.push(i.guildId));
    for (const g of f.guilds) await f.sendInteraction({ name: 'status', guildId: g.id });
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen.sort()).toEqual(f.guilds.map((g) => g.id).sort());
  });
});

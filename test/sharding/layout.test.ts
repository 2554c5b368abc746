/** What each shard uses (src/sharding/layout.ts): the guilds it owns, its progress file, its ports and links. */
import path from 'node:path';
import { ShardClientUtil } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { lockPathFor } from '../../src/store/lock.js';
import { configForShard, shardIds, shardLayoutProblems, shardOfGuild, shardProgressPath, transfersOfOtherShards } from '../../src/sharding/layout.js';
import type { TransferSummary } from '../../src/store/types.js';

describe('shardOfGuild', () => {
  it('GIVEN guild ids THEN each goes to shard (id >> 22) % count, as Discord routes it and discord.js computes it', () => {
    // 2^22 ids share a timestamp: the shard moves with the timestamp, never with the low bits.
    expect(shardOfGuild(String(0b101n << 22n), 2)).toBe(1);
    expect(shardOfGuild(String((0b101n << 22n) | 0x3fffffn), 2)).toBe(1);
    expect(shardOfGuild(String(6n << 22n), 4)).toBe(2);
    expect(shardOfGuild('41771983423143937', 1)).toBe(0);
    for (const id of ['41771983423143937', '81384788765712384', '1300000000000000010', '1578473129179742208', '9223372036854775807']) {
      for (const count of [1, 2, 3, 16, 1000])
        expect(shardOfGuild(id, count), `${id} of ${count}`).toBe(ShardClientUtil.shardIdForGuildId(id, count));
    }
  });
});

describe('shardProgressPath', () => {
  it('GIVEN PROGRESS_FILE_PATH THEN each shard gets <name>.shard-<id>.json beside it, and its lock follows', () => {
    expect(shardProgressPath('/var/lib/dfs/transfer_progress.json', 0)).toBe('/var/lib/dfs/transfer_progress.shard-0.json');
    expect(shardProgressPath('/var/lib/dfs/state.json', 12)).toBe('/var/lib/dfs/state.shard-12.json');
    expect(lockPathFor(shardProgressPath('/srv/transfer_progress.json', 3))).toBe('/srv/transfer_progress.shard-3.lock');
    expect(shardProgressPath('/a.b/p.v2.json', 1)).toBe('/a.b/p.v2.shard-1.json');
  });
});

describe('shardIds', () => {
  it('GIVEN no SHARD_LIST THEN every shard of the count; with one, exactly those', () => {
    expect(shardIds(3, undefined)).toEqual([0, 1, 2]);
    expect(shardIds(8, [5, 2])).toEqual([5, 2]);
  });
});

describe('configForShard', () => {
  const base = loadConfig({ PROGRESS_FILE_PATH: '/srv/dfs/transfer_progress.json', METRICS_PORT: '9100', WEB_PORT: '8080' });

  it('GIVEN no shard (npm start) THEN the config is the very same, the existing progress file included', () => {
    expect(configForShard(base, null)).toBe(base);
    expect(configForShard(base, null).PROGRESS_FILE_PATH).toBe(path.resolve('/srv/dfs/transfer_progress.json'));
  });

  it('GIVEN shard 3 of 4 THEN its own progress file, staging folder, METRICS_PORT + 3, WEB_PORT + 3 and {shard} filled in; the rest as configured', () => {
    const config = loadConfig({
      PROGRESS_FILE_PATH: '/srv/dfs/transfer_progress.json',
      METRICS_PORT: '9100',
      WEB_PORT: '8080',
      WEB_PUBLIC_URL: 'https://s{shard}.files.example.org/{shard}/',
    });
    const shard = configForShard(config, { id: 3, count: 4 });
    expect(shard).toStrictEqual({
      ...config,
      PROGRESS_FILE_PATH: '/srv/dfs/transfer_progress.shard-3.json',
      STAGING_DIR: path.join(config.STAGING_DIR, 'shard-3'),
      METRICS_PORT: 9103,
      WEB_PORT: 8083,
      WEB_PUBLIC_URL: 'https://s3.files.example.org/3',
    });
    expect(configForShard(loadConfig({}), { id: 1, count: 2 })).toMatchObject({
      METRICS_PORT: undefined,
      WEB_PORT: undefined,
      WEB_PUBLIC_URL: undefined,
    });
  });

  it('GIVEN {shard} in WEB_PUBLIC_URL and no shard THEN a ConfigError: there is no id to put there', () => {
    const config = loadConfig({ WEB_PUBLIC_URL: 'https://s{shard}.example.org' });
    expect(() => configForShard(config, null)).toThrow(ConfigError);
    expect(() => configForShard(config, null)).toThrow(/WEB_PUBLIC_URL has \{shard\}, which only a shard of npm run start:sharded fills in/);
  });

  it('GIVEN a port that the shard id pushes past 65535 THEN a ConfigError naming the key', () => {
    expect(() => configForShard(loadConfig({ METRICS_PORT: '65535' }), { id: 1, count: 2 })).toThrow(
      /METRICS_PORT=65535 puts shard 1 on port 65536, past 65535/,
    );
  });
});

describe('shardLayoutProblems', () => {
  it('GIVEN ports far enough apart and {shard} in the URL THEN none', () => {
    expect(
      shardLayoutProblems({ METRICS_PORT: 9100, WEB_PORT: 8080, WEB_PUBLIC_URL: 'https://s{shard}.example.org' }, 16, shardIds(16, undefined)),
    ).toEqual([]);
    expect(shardLayoutProblems({ METRICS_PORT: undefined, WEB_PORT: undefined, WEB_PUBLIC_URL: undefined }, 2, [0, 1])).toEqual([]);
  });

  it('GIVEN METRICS_PORT and WEB_PORT closer than the shard count THEN the ports that would clash are named', () => {
    expect(shardLayoutProblems({ METRICS_PORT: 9001, WEB_PORT: 9000, WEB_PUBLIC_URL: undefined }, 2, [0, 1])).toEqual([
      "METRICS_PORT=9001 and WEB_PORT=9000 overlap: shard 0's metrics port 9001 is shard 1's web page port (each shard listens on the port + its id); keep them at least 2 apart",
    ]);
    // A host running shards 0 and 5 only clashes if those two do.
    expect(shardLayoutProblems({ METRICS_PORT: 9000, WEB_PORT: 9003, WEB_PUBLIC_URL: undefined }, 8, [0, 5])).toEqual([]);
  });

  it('GIVEN a web page on several shards and WEB_PUBLIC_URL without {shard} THEN refused; with one shard in all, fine', () => {
    expect(shardLayoutProblems({ METRICS_PORT: undefined, WEB_PORT: 8080, WEB_PUBLIC_URL: 'https://files.example.org' }, 2, [1])).toEqual([
      'WEB_PUBLIC_URL has no {shard}: each of the 2 shards serves its own web page (on WEB_PORT + its id), so its links must lead to it, e.g. https://shard{shard}.files.example.org',
    ]);
    expect(shardLayoutProblems({ METRICS_PORT: undefined, WEB_PORT: 8080, WEB_PUBLIC_URL: 'https://files.example.org' }, 1, [0])).toEqual([]);
  });

  it('GIVEN the highest shard of a host past the port range THEN named', () => {
    expect(shardLayoutProblems({ METRICS_PORT: undefined, WEB_PORT: 65_530, WEB_PUBLIC_URL: undefined }, 16, [2, 9])).toEqual([
      'WEB_PORT=65530 puts shard 9 on port 65539, past 65535: each shard listens on WEB_PORT + its id',
    ]);
  });
});

describe('transfersOfOtherShards', () => {
  const summary = (id: string, guild_id: string | null, status: TransferSummary['status']): TransferSummary => ({
    id,
    status,
    guild_id,
    file_name: 'f.bin',
    owner_id: '100000000000000001',
    channel_id: '100000000000000002',
    total_chunks: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    parts_done: 0,
  });
  const onShard = (shard: bigint) => String((1000n + shard) << 22n); // shard of 4 = 1000 + shard mod 4

  it('GIVEN unfinished transfers of guilds that TOTAL_SHARDS now puts elsewhere THEN those, with the shard now owning each; finished ones and DMs are no matter', () => {
    const transfers = [
      summary('upload_mine01', onShard(1n), 'interrupted'),
      summary('upload_moved1', onShard(2n), 'interrupted'),
      summary('upload_moved2', onShard(3n), 'pending'),
      summary('upload_done01', onShard(2n), 'complete'),
      summary('upload_nogild', null, 'in_progress'),
    ];
    expect(transfersOfOtherShards(transfers, { id: 1, count: 4 })).toEqual([
      { id: 'upload_moved1', guild_id: onShard(2n), now_on_shard: 2 },
      { id: 'upload_moved2', guild_id: onShard(3n), now_on_shard: 3 },
    ]);
    expect(transfersOfOtherShards(transfers, { id: 0, count: 1 })).toEqual([]);
  });
});

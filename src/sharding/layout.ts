/**
 * What each shard of `npm run start:sharded` uses (README, 'Sharding'): its progress file and
 * lock, its ports and links, and which guilds are its own. Pure: the manager checks every
 * shard's layout before spawning one, and each shard derives its own from the same config.
 */
import path from 'node:path';
import { SHARD_PLACEHOLDER, type Config, type ShardIdentity } from '../config.js';
import { ConfigError } from '../errors.js';
import { ACTIVE_STATUSES } from '../store/state.js';
import type { TransferSummary } from '../store/types.js';

const MAX_PORT = 65_535;

/** Discord routes a guild's events and interactions to shard (guild_id >> 22) % shard_count. */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** `…/transfer_progress.json` → `…/transfer_progress.shard-<id>.json`, beside it; its lock follows (`….shard-<id>.lock`). */
export function shardProgressPath(progressPath: string, id: number): string {
  return path.join(path.dirname(progressPath), `${path.basename(progressPath, '.json')}.shard-${id}.json`);
}

/**
 * `STAGING_DIR/shard-<id>`: each shard stages its uploads in a folder of its own. A shard's
 * start-up removes the staging folders of transfers its own progress file does not know
 * (send/uploads.ts, sweepFolders); in one folder shared by every shard, that would be the
 * live uploads of the others.
 */
function shardStagingDir(stagingDir: string, id: number): string {
  return path.join(stagingDir, `shard-${id}`);
}

/** Each shard serves on the configured port plus its id; unset stays unset. */
function shardPort(port: number | undefined, id: number): number | undefined {
  return port === undefined ? undefined : port + id;
}

/** WEB_PUBLIC_URL with every `{shard}` replaced by the shard's id. */
function shardPublicUrl(url: string | undefined, id: number): string | undefined {
  return url?.replaceAll(SHARD_PLACEHOLDER, String(id));
}

/** The shard ids a host runs: SHARD_LIST, or every shard of the count. */
export function shardIds(totalShards: number, shardList: readonly number[] | undefined): number[] {
  return shardList ? [...shardList] : Array.from({ length: totalShards }, (_, i) => i);
}

type LayoutConfig = Pick<Config, 'METRICS_PORT' | 'WEB_PORT' | 'WEB_PUBLIC_URL'>;

/**
 * What makes the shards `ids` of `totalShards` unable to run side by side with this config:
 * a port pushed past 65535 by an id, the metrics ports of some shards landing on the web
 * ports of others, or one public URL for the web pages of several shards.
 */
export function shardLayoutProblems(config: LayoutConfig, totalShards: number, ids: readonly number[]): string[] {
  const problems: string[] = [];
  const highest = Math.max(...ids);
  for (const key of ['METRICS_PORT', 'WEB_PORT'] as const) {
    const port = config[key];
    if (port !== undefined && port + highest > MAX_PORT) {
      problems.push(`${key}=${port} puts shard ${highest} on port ${port + highest}, past ${MAX_PORT}: each shard listens on ${key} + its id`);
    }
  }
  const { METRICS_PORT: metrics, WEB_PORT: web } = config;
  if (metrics !== undefined && web !== undefined) {
    const webPorts = new Set(ids.map((id) => web + id));
    const clash = ids.find((id) => webPorts.has(metrics + id));
    if (clash !== undefined) {
      const other = ids.find((id) => web + id === metrics + clash);
      problems.push(
        `METRICS_PORT=${metrics} and WEB_PORT=${web} overlap: shard ${clash}'s metrics port ${metrics + clash} is shard ${other}'s web page port ` +
          `(each shard listens on the port + its id); keep them at least ${ids.length} apart`,
      );
    }
  }
  if (web !== undefined && totalShards > 1 && config.WEB_PUBLIC_URL !== undefined && !config.WEB_PUBLIC_URL.includes(SHARD_PLACEHOLDER)) {
    problems.push(
      `WEB_PUBLIC_URL has no ${SHARD_PLACEHOLDER}: each of the ${totalShards} shards serves its own web page (on WEB_PORT + its id), ` +
        `so its links must lead to it, e.g. https://shard${SHARD_PLACEHOLDER}.files.example.org`,
    );
  }
  return problems;
}

/**
 * The config a shard runs with: its own progress file (and so lock), staging folder, metrics
 * and web ports, and public URL. Not sharded (null), the config is returned as it is, as `npm start` has
 * always used it, unless WEB_PUBLIC_URL asks for a shard id there is none of.
 */
export function configForShard(config: Config, shard: ShardIdentity | null): Config {
  if (shard === null) {
    if (config.WEB_PUBLIC_URL?.includes(SHARD_PLACEHOLDER)) {
      throw new ConfigError([
        `WEB_PUBLIC_URL has ${SHARD_PLACEHOLDER}, which only a shard of npm run start:sharded fills in; this bot runs unsharded`,
      ]);
    }
    return config;
  }
  const problems = shardLayoutProblems(config, shard.count, [shard.id]);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...config,
    PROGRESS_FILE_PATH: shardProgressPath(config.PROGRESS_FILE_PATH, shard.id),
    STAGING_DIR: shardStagingDir(config.STAGING_DIR, shard.id),
    METRICS_PORT: shardPort(config.METRICS_PORT, shard.id),
    WEB_PORT: shardPort(config.WEB_PORT, shard.id),
    WEB_PUBLIC_URL: shardPublicUrl(config.WEB_PUBLIC_URL, shard.id),
  };
}

/**
 * Unfinished transfers in this shard's file whose guild Discord now routes to another shard
 * (TOTAL_SHARDS changed since they started): this shard still resumes them, but their
 * guild's /status, /cancel and /resume reach the other shard.
 */
export function transfersOfOtherShards(
  transfers: readonly TransferSummary[],
  shard: ShardIdentity,
): { id: string; guild_id: string; now_on_shard: number }[] {
  return transfers.flatMap((t) => {
    if (!ACTIVE_STATUSES.includes(t.status) || t.guild_id === null) return [];
    const owner = shardOfGuild(t.guild_id, shard.count);
    return owner === shard.id ? [] : [{ id: t.id, guild_id: t.guild_id, now_on_shard: owner }];
  });
}

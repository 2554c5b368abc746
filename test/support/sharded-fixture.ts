/**
 * The bot as `npm run start:sharded` runs it, against a fake Discord that requires sharding:
 * the shard manager (src/shard.ts through tsx, its shards src/index.ts) in a temp directory,
 * with a reader for each shard's progress file.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeDiscord, shardOfGuild } from './fake-discord/index.js';
import type { FakeDiscord, FakeDiscordOptions, FakeGuild } from './fake-discord/types.js';
import { REPO_ROOT, startBotProcess, type BotProcess, type LogLine } from './bot-process.js';
import { botEnv, commandsOf, type BotFixture } from './bot-fixture.js';
import { progressReader, type ProgressReader } from './progress-file.js';
import { isProcessAlive } from '../../src/store/lock.js';

export interface ShardedFixture extends Pick<BotFixture, 'command' | 'split'> {
  fake: FakeDiscord;
  manager: BotProcess;
  work: string;
  filesRoot: string;
  /** PROGRESS_FILE_PATH as configured; each shard writes its own file beside it. */
  progressPath: string;
  env: Record<string, string>;
  /** The progress file of one shard. */
  shard(id: number): ProgressReader & { progressPath: string };
  /** The first guild of the fake on this shard. */
  guildOn(shardId: number): FakeGuild;
  /** The pid of the shard's current process (the manager's last `shard_spawned` line for it). */
  pidOf(shardId: number): number;
  /** The shard process's own log lines (they share the manager's stdout). */
  logsOf(shardId: number): LogLine[];
  /** SIGKILL to the manager and every shard process it started; stops the fake if the fixture started it. */
  stop(): Promise<void>;
}

export interface ShardedFixtureOptions {
  /** A fake to share (two hosts on one Discord), or options for one of the fixture's own. */
  fake?: FakeDiscord | FakeDiscordOptions;
  env?: Record<string, string>;
  /** How long to wait for `all shards ready`; default 60 s (tsx start-ups on a loaded machine). */
  readyTimeoutMs?: number;
}

/** Two guilds on two shards, sharding required as Discord does from 2,500 guilds, all shards allowed to IDENTIFY at once. */
export const TWO_SHARDS: FakeDiscordOptions = { shards: 2, requireSharding: true, guildCount: 2, maxConcurrency: 16 };

export async function startShardedFixture(options: ShardedFixtureOptions = {}): Promise<ShardedFixture> {
  const own = options.fake === undefined || !('sendInteraction' in options.fake);
  const fake = own ? await startFakeDiscord({ ...TWO_SHARDS, ...(options.fake as FakeDiscordOptions | undefined) }) : (options.fake as FakeDiscord);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-sharded-'));
  const filesRoot = path.join(work, 'files');
  await fs.mkdir(filesRoot);
  const progressPath = path.join(work, 'transfer_progress.json');
  const env = botEnv(fake, filesRoot, progressPath, options.env);
  const cleanUp = async () => {
    if (own) await fake.stop();
    await fs.rm(work, { recursive: true, force: true });
  };
  let manager: BotProcess;
  try {
    manager = await startBotProcess({ cwd: work, env, script: path.join(REPO_ROOT, 'src/shard.ts'), waitReady: false });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const spawned = (shardId: number) => manager.logs.filter((l) => l.event === 'shard_spawned' && l.shard === shardId);
  const fixture: ShardedFixture = {
    fake,
    manager,
    work,
    filesRoot,
    progressPath,
    env,
    ...commandsOf(fake),
    shard(id) {
      const file = path.join(work, `transfer_progress.shard-${id}.json`);
      return { ...progressReader(file), progressPath: file };
    },
    guildOn(shardId) {
      const guild = fake.guilds.find((g) => shardOfGuild(g.id, fake.shards) === shardId);
      if (!guild) throw new Error(`the fake has no guild on shard ${shardId}`);
      return guild;
    },
    pidOf(shardId) {
      const pid = spawned(shardId).at(-1)?.pid;
      if (typeof pid !== 'number') throw new Error(`shard ${shardId} was never spawned`);
      return pid;
    },
    logsOf: (shardId) => manager.logs.filter((l) => l.shard === shardId && l.role === undefined),
    async stop() {
      const pids = manager.logs.filter((l) => l.event === 'shard_spawned').map((l) => l.pid);
      await manager.kill('SIGKILL');
      for (const pid of pids) {
        try {
          if (typeof pid === 'number') process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await cleanUp();
    },
  };
  try {
    const timeout = options.readyTimeoutMs ?? 60_000;
    const ready = await manager.waitForLog((l) => l.event === 'shards_ready', timeout);
    // The manager hears of a shard once its gateway connection is ready; the bot is ready to
    // answer once its guilds have arrived too, which its own `ready` line says.
    for (const id of ready.shards as number[]) await manager.waitForLog((l) => l.shard === id && l.role === undefined && l.msg === 'ready', timeout);
  } catch (error) {
    await fixture.stop();
    throw error;
  }
  return fixture;
}

/** Bounded wait for a process to be gone; whether it is. */
export async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !isProcessAlive(pid);
}

/** Peak and current resident memory of a process, in MiB, from Linux's /proc (null elsewhere, or once it is gone). */
export async function memoryOf(pid: number): Promise<{ peakMiB: number; rssMiB: number } | null> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status ?? '')?.[1] ?? NaN);
  if (status === null || Number.isNaN(kib('VmHWM'))) return null;
  return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
}

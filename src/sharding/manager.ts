/**
 * The shard processes of one host: discord.js's ShardingManager forks each (the bot's
 * index.js, with SHARDS and SHARD_COUNT in its environment); this keeps them running. A shard
 * that exits is spawned again, after a pause that grows while it keeps dying before it is
 * ready, and never faster than Discord's IDENTIFY pace; one that cannot start at all stops
 * the manager. `stop()` sends every shard SIGTERM (each stops within 10 s) and waits.
 */
import { ChildProcess } from 'node:child_process';
import { ShardingManager, type Shard } from 'discord.js';
import { messageOf, ShardingError } from '../errors.js';
import type { Logger } from '../log.js';
import { IdentifyPacer, MAX_FAILED_STARTS, respawnDelayMs } from './pace.js';

export interface ShardManagerOptions {
  /** The bot's entry, run once per shard. */
  file: string;
  /** Node flags for each shard (the manager's own: under tsx, its loader). */
  execArgv: string[];
  token: string;
  totalShards: number;
  /** The shards this host runs. */
  shardIds: number[];
  maxConcurrency: number;
  log: Logger;
  /** A shard cannot be kept running (it died MAX_FAILED_STARTS times without becoming ready): stop, and exit 1. */
  onFatal: (error: ShardingError) => void;
}

/** Far past a shard's own 10 s stop: only a hung process gets SIGKILL. */
const STOP_DEADLINE_MS = 12_000;

export class ShardManager {
  readonly #manager: ShardingManager;
  readonly #pacer: IdentifyPacer;
  /** Deaths in a row since each shard was last ready. */
  readonly #failures = new Map<number, number>();
  readonly #everReady = new Set<number>();
  /** Pending waits, each with the resolve that ends it early (on stop). */
  readonly #waits = new Map<NodeJS.Timeout, () => void>();
  #stopping = false;

  constructor(private readonly options: ShardManagerOptions) {
    this.#pacer = new IdentifyPacer(options.maxConcurrency);
    // respawn off: discord.js would spawn a dead shard again at once, every time (see pace.ts).
    this.#manager = new ShardingManager(options.file, {
      totalShards: options.totalShards,
      shardList: options.shardIds,
      token: options.token,
      respawn: false,
      mode: 'process',
      execArgv: options.execArgv,
    });
  }

  /** Spawns every shard of this host at Discord's IDENTIFY pace; resolves once all are forked (not ready). */
  async start(): Promise<void> {
    for (const id of this.options.shardIds) {
      if (this.#stopping) return;
      const shard = this.#manager.createShard(id);
      this.#watch(shard);
      await this.#spawnWhenAllowed(shard, 0);
    }
  }

  #watch(shard: Shard): void {
    const { log } = this.options;
    const id = shard.id;
    // Always a ChildProcess: the manager runs in 'process' mode.
    shard.on('spawn', (child) => {
      this.#pacer.started(id, Date.now());
      log.info({ event: 'shard_spawned', shard: id, pid: child instanceof ChildProcess ? child.pid : undefined }, `shard ${id} spawned`);
    });
    shard.on('ready', () => {
      this.#failures.set(id, 0);
      log.info({ event: 'shard_ready', shard: id, pid: shard.process?.pid }, `shard ${id} ready`);
      if (this.#everReady.has(id)) return;
      this.#everReady.add(id);
      if (this.#everReady.size === this.options.shardIds.length) {
        log.info({ event: 'shards_ready', shards: this.options.shardIds, total_shards: this.options.totalShards }, 'all shards ready');
      }
    });
    shard.on('death', (child) => {
      if (child instanceof ChildProcess) this.#onDeath(shard, child);
    });
    shard.on('error', (error: unknown) => log.error({ err: error, shard: id }, `shard ${id}: ${messageOf(error)}`));
  }

  #onDeath(shard: Shard, child: ChildProcess): void {
    const { log } = this.options;
    const id = shard.id;
    const exit = { shard: id, pid: child.pid, exit_code: child.exitCode, signal: child.signalCode };
    if (this.#stopping) {
      log.info({ event: 'shard_stopped', ...exit }, `shard ${id} stopped`);
      return;
    }
    const failures = (this.#failures.get(id) ?? 0) + 1;
    this.#failures.set(id, failures);
    if (failures >= MAX_FAILED_STARTS) {
      log.fatal({ event: 'shard_died', ...exit, failures }, `shard ${id} died ${failures} times in a row without becoming ready; stopping`);
      this.options.onFatal(new ShardingError(`shard ${id} exited ${failures} times in a row before it was ready; its log says why`));
      return;
    }
    // Its next start is a new IDENTIFY too: it waits for the pace as well as for its backoff.
    const delay = Math.max(respawnDelayMs(failures), this.#pacer.waitMs(id, Date.now()));
    log.warn({ event: 'shard_died', ...exit, failures, respawn_in_ms: delay }, `shard ${id} exited; spawning it again`);
    void this.#spawnWhenAllowed(shard, delay);
  }

  /** After `delayMs`, and once Discord's IDENTIFY pace allows this shard (another of its key may have started meanwhile), spawn it, unless stopping by then. */
  async #spawnWhenAllowed(shard: Shard, delayMs: number): Promise<void> {
    await this.#sleep(delayMs);
    // Looked at again after each wait, and spawned in the same step as the last look: another
    // shard of the key may start meanwhile. Each round waits for one such start.
    for (let round = 0; round <= this.options.shardIds.length; round++) {
      const wait = this.#pacer.waitMs(shard.id, Date.now());
      if (wait <= 0) break;
      await this.#sleep(wait);
    }
    if (this.#stopping) return;
    // -1: no wait for ready here; 'ready' and 'death' above follow the shard.
    await shard
      .spawn(-1)
      .catch((error: unknown) => this.options.log.error({ err: error, shard: shard.id }, `shard ${shard.id} could not be spawned`));
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waits.delete(timer);
        resolve();
      }, ms);
      this.#waits.set(timer, resolve);
    });
  }

  /** The pid of each running shard process. */
  pids(): Map<number, number> {
    const pids = new Map<number, number>();
    for (const [id, shard] of this.#manager.shards) if (shard.process?.pid !== undefined) pids.set(id, shard.process.pid);
    return pids;
  }

  /** SIGTERM to every shard, then waits for them; true when every one exited 0 in time. Nothing is spawned after it is called. */
  async stop(): Promise<boolean> {
    this.#stopping = true;
    for (const [timer, resolve] of this.#waits) {
      clearTimeout(timer);
      resolve();
    }
    this.#waits.clear();
    // A shard already dead (the one given up on) is not stopped, nor counted.
    const children = [...this.#manager.shards.values()].flatMap((s) =>
      s.process && s.process.exitCode === null && s.process.signalCode === null ? [s.process] : [],
    );
    const codes = await Promise.all(children.map((child) => stopChild(child, STOP_DEADLINE_MS)));
    return codes.every((code) => code === 0);
  }
}

/** SIGTERM, then SIGKILL past the deadline; resolves with the exit code (null when killed by a signal). */
async function stopChild(child: ChildProcess, deadlineMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

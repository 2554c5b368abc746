/**
 * `npm run start:sharded`: the bot as TOTAL_SHARDS shard processes under discord.js's
 * ShardingManager (README, 'Sharding'), this host running SHARD_LIST of them. Checks the config
 * for every shard before spawning any; SIGTERM or SIGINT stops every shard, then exits.
 */
import './dotenv.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRecipientKeys, loadConfig, type Config } from './config.js';
import { ConfigError, messageOf, ShardingError } from './errors.js';
import { fetchGatewayBot, type GatewayBot } from './discord/gateway-bot.js';
import { createLogger, LogRedactions, type Logger } from './log.js';
import { readProgressFile } from './store/parse.js';
import { ACTIVE_STATUSES } from './store/state.js';
import { ShardManager } from './sharding/manager.js';
import { shardIds, shardLayoutProblems } from './sharding/layout.js';

/** The bot's own entry beside this file: dist/index.js when built, src/index.ts under tsx. */
const SHARD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), `index${path.extname(fileURLToPath(import.meta.url))}`);

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { requireToken: true });
    // Before any shard starts: a mistyped key would stop each of them, again and again.
    await checkRecipientKeys(config);
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : messageOf(error));
  }
  const token = config.DISCORD_TOKEN ?? '';
  const redactions = new LogRedactions(config.LOG_REDACT_FILENAMES);
  redactions.add(config.FILES_ROOT, config.PROGRESS_FILE_PATH);
  const log = createLogger({ level: config.LOG_LEVEL, secrets: [token, config.WEB_SECRET ?? ''], redactions, bindings: { role: 'shard-manager' } });
  let manager: ShardManager | null = null;
  // An object, not a `let`: it is set in signal handlers, which the type checker cannot follow.
  const state = { stopping: false };
  const stop = (code: 0 | 1, reason: string) => {
    if (state.stopping) return;
    state.stopping = true;
    log.info({ event: 'shard_manager_stopping', reason }, `stopping every shard (${reason})`);
    void (manager?.stop() ?? Promise.resolve(true)).then((clean) => {
      log.info({ event: 'shard_manager_stopped', clean }, clean ? 'every shard stopped' : 'a shard did not stop cleanly');
      process.exit(clean ? code : 1);
    });
  };
  // Every time, not once: under npm the same signal comes twice (to the group, and forwarded by npm).
  process.on('SIGTERM', () => stop(0, 'SIGTERM'));
  process.on('SIGINT', () => stop(0, 'SIGINT'));

  const gateway = await askGateway(config, token, log);
  const totalShards = config.TOTAL_SHARDS === 'auto' ? gateway.shards : config.TOTAL_SHARDS;
  const ids = shardIds(totalShards, config.SHARD_LIST);
  const problems = shardLayoutProblems(config, totalShards, ids);
  if (problems.length > 0) fail(new ConfigError(problems).message, log);
  if (totalShards < gateway.shards) {
    log.warn(
      { event: 'fewer_shards_than_recommended', total_shards: totalShards, recommended_shards: gateway.shards },
      `TOTAL_SHARDS=${totalShards} is fewer than the ${gateway.shards} Discord recommends; past 2,500 guilds a shard, it closes the connection with 4011`,
    );
  }
  if (gateway.remaining < ids.length) {
    log.warn(
      { event: 'session_starts_low', remaining: gateway.remaining, reset_after_ms: gateway.resetAfterMs, shards: ids.length },
      `Discord allows only ${gateway.remaining} more session starts until ${new Date(Date.now() + gateway.resetAfterMs).toISOString()}; shards past that cannot log in before then`,
    );
  }
  log.info(
    { event: 'sharding', total_shards: totalShards, shard_list: ids, max_concurrency: gateway.maxConcurrency, recommended_shards: gateway.shards },
    `running shards ${ids.join(', ')} of ${totalShards}`,
  );
  await warnOfUnshardedTransfers(config, log);
  if (state.stopping) return;
  manager = new ShardManager({
    file: SHARD_ENTRY,
    // The manager's Node flags (under tsx, its loader) apply to every shard; not an inspector, whose port only one process can have.
    execArgv: process.execArgv.filter((flag) => !flag.startsWith('--inspect')),
    token,
    totalShards,
    shardIds: ids,
    maxConcurrency: gateway.maxConcurrency,
    log,
    onFatal: (error: ShardingError) => stop(1, error.message),
  });
  await manager.start();
}

/**
 * GET /gateway/bot: TOTAL_SHARDS=auto cannot do without it, and a refused token is refused
 * here before any shard spends a session start on it. With a number of shards and Discord out
 * of reach, the manager goes on at the pace safe for any bot (max_concurrency 1).
 */
async function askGateway(config: Config, token: string, log: Logger): Promise<GatewayBot> {
  try {
    return await fetchGatewayBot(config, token);
  } catch (error) {
    const message = messageOf(error);
    const refused = error instanceof ShardingError && error.status === 401;
    if (refused) fail(message, log);
    if (config.TOTAL_SHARDS === 'auto') fail(`TOTAL_SHARDS=auto needs Discord's recommended shard count: ${message}`, log);
    log.warn({ event: 'gateway_bot_failed', err: error }, `${message}; spawning one shard per 5.5 s`);
    return { shards: config.TOTAL_SHARDS, maxConcurrency: 1, remaining: Number.MAX_SAFE_INTEGER, resetAfterMs: 0 };
  }
}

/** `npm start`'s own file is no shard's: its unfinished transfers would wait there unseen. */
async function warnOfUnshardedTransfers(config: Config, log: Logger): Promise<void> {
  // Missing (the usual case) or unreadable: npm start would say why; nothing to warn of here.
  const file = await readProgressFile(config.PROGRESS_FILE_PATH).catch(() => null);
  const unfinished = (file?.active_transfers ?? []).filter((t) => ACTIVE_STATUSES.includes(t.status)).map((t) => t.id);
  if (unfinished.length === 0) return;
  log.warn(
    { event: 'unsharded_transfers_left', transfers: unfinished, progress_file: config.PROGRESS_FILE_PATH },
    'unfinished transfers in the unsharded progress file are resumed by no shard; stop the shards and finish them with npm start',
  );
}

function fail(message: string, log?: Logger): never {
  log?.fatal({ event: 'shard_manager_failed' }, message);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

void main();

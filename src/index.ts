/**
 * Entry point: load config → open the store (locked) → log in. Fatal errors exit 1. Run by
 * `npm run start:sharded`'s manager, it is one shard: its own progress file, ports and links
 * (src/sharding/layout.ts), and it stops when the manager is gone.
 */
import './dotenv.js';
import { checkRecipientKeys, loadConfig, shardFromEnv, type Config, type ShardIdentity } from './config.js';
import { ConfigError, GatewayClosedError, LockedError, messageOf, StoreError } from './errors.js';
import { createLogger, LogRedactions, type Logger } from './log.js';
import { startBot, type Bot } from './bot.js';
import { configForShard } from './sharding/layout.js';

/**
 * SIGTERM must end the process within 10 s (README, 'What survives what'). `bot.stop()` keeps to its own
 * deadline below this; this one also covers a start-up that never finishes.
 */
const EXIT_BACKSTOP_MS = 9_500;

async function main(): Promise<void> {
  let config: Config;
  let shard: ShardIdentity | null;
  try {
    shard = shardFromEnv(process.env);
    config = configForShard(loadConfig(process.env, { requireToken: true }), shard);
    await checkRecipientKeys(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const redactions = new LogRedactions(config.LOG_REDACT_FILENAMES);
  const log = createLogger({
    level: config.LOG_LEVEL,
    secrets: [config.DISCORD_TOKEN ?? '', config.WEB_SECRET ?? ''],
    redactions,
    ...(shard ? { bindings: { shard: shard.id } } : {}),
  });
  const shutdown = new Shutdown(log);
  // Listen before starting: a signal during start-up (the `ready` line is already out) would
  // otherwise kill the process without saving or unlocking.
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    shutdown.request(0);
  };
  // Kept for every signal, not once: under `npm start` the same signal comes twice (from the
  // terminal or systemd to the whole group, and forwarded by npm), and a second one with no
  // listener would kill the stop halfway. The exit backstop still bounds the stop.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // discord.js's shards outlive a manager that died (SIGKILL, a crash), still connected: stop with it.
  // Only as a shard: unsharded, an IPC channel belongs to whatever supervisor started the bot.
  if (shard && process.send) {
    process.once('disconnect', () => {
      log.warn({ event: 'shard_manager_gone' }, 'the shard manager is gone (its IPC channel closed); stopping');
      shutdown.request(0);
    });
  }
  let bot: Bot;
  try {
    bot = await startBot(config, log, { onFatal: () => shutdown.request(1), redactions, shard });
  } catch (error) {
    const known = error instanceof StoreError || error instanceof LockedError || error instanceof GatewayClosedError;
    const message = messageOf(error);
    log.fatal({ err: known ? undefined : error }, message);
    process.stderr.write(`error: ${redact(message, config.DISCORD_TOKEN)}\n`);
    process.exit(1);
  }
  shutdown.started(bot);
}

/**
 * Stops the bot and exits with the code of the first request (0 for a signal, 1 for a fatal
 * gateway close), or with 1 when the stop fails or overruns; later requests change nothing.
 */
class Shutdown {
  #bot: Bot | undefined;
  #code: 0 | 1 | null = null;

  constructor(private readonly log: Logger) {}

  /** The bot is up: a stop requested while it started runs now. */
  started(bot: Bot): void {
    this.#bot = bot;
    if (this.#code !== null) this.#stop(bot, this.#code);
  }

  request(code: 0 | 1): void {
    if (this.#code !== null) return;
    this.#code = code;
    setTimeout(() => {
      this.log.error({ deadline_ms: EXIT_BACKSTOP_MS }, 'shutdown overran its deadline; exiting anyway');
      process.exit(1);
    }, EXIT_BACKSTOP_MS);
    if (this.#bot) this.#stop(this.#bot, code);
  }

  #stop(bot: Bot, code: 0 | 1): void {
    bot.stop().then(
      () => process.exit(code),
      (error: unknown) => {
        this.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  }
}

function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[REDACTED]') : text;
}

void main();

/** Entry point: load config → open the store (locked) → log in. Fatal errors exit 1. */
import './dotenv.js';
import { loadConfig } from './config.js';
import { ConfigError, GatewayClosedError, LockedError, StoreError } from './errors.js';
import { createLogger } from './log.js';
import { startBot, type Bot } from './bot.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { requireToken: true });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger({ level: config.LOG_LEVEL, secrets: [config.DISCORD_TOKEN ?? ''] });
  const exit = stopOnce();
  let bot: Bot;
  try {
    bot = await startBot(config, log, { onFatal: () => exit(bot, 1) });
  } catch (error) {
    const known = error instanceof StoreError || error instanceof LockedError || error instanceof GatewayClosedError;
    const message = error instanceof Error ? error.message : String(error);
    log.fatal({ err: known ? undefined : error }, message);
    process.stderr.write(`error: ${redact(message, config.DISCORD_TOKEN)}\n`);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    exit(bot, 0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * Stops the bot and exits with `code`. Only the first call counts: a signal during a fatal
 * stop (or the reverse) changes nothing.
 */
function stopOnce(): (bot: Bot, code: 0 | 1) => void {
  let exiting = false;
  return (bot, code) => {
    if (exiting) return;
    exiting = true;
    void bot.stop().then(() => process.exit(code));
  };
}

function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[REDACTED]') : text;
}

void main();

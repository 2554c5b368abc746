/** Entry point: load config → open the store (locked) → log in. Fatal errors exit 1. */
import './dotenv.js';
import { loadConfig } from './config.js';
import { ConfigError, LockedError, StoreError } from './errors.js';
import { createLogger } from './log.js';
import { startBot } from './bot.js';

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
  let bot;
  try {
    bot = await startBot(config, log);
  } catch (error) {
    const known = error instanceof StoreError || error instanceof LockedError;
    const message = error instanceof Error ? error.message : String(error);
    log.fatal({ err: known ? undefined : error }, message);
    process.stderr.write(`error: ${redact(message, config.DISCORD_TOKEN)}\n`);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    void bot.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[REDACTED]') : text;
}

void main();

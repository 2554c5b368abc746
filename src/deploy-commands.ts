/**
 * `npm run deploy-commands`: registers the slash commands and says where. Its own entry, run
 * as `node dist/deploy-commands.js`, so that nothing has to tell "run" from "imported" by
 * comparing paths (which a space or a symlink in the bot's folder gets wrong).
 */
import './dotenv.js';
import { deployCommands } from './commands/deploy.js';
import { ConfigError, messageOf } from './errors.js';

try {
  console.log(await deployCommands(process.env));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `error: ${messageOf(error)}`);
  process.exit(1);
}

/** The discord.js client, pointed at `DISCORD_API_URL`, with our own retry policy in charge. */
import { Client, GatewayIntentBits } from 'discord.js';
import type { Config } from '../config.js';

export function createClient(config: Pick<Config, 'DISCORD_API_URL' | 'UPLOAD_TIMEOUT_MS'>): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    // Every retry of an upload is ours (backoff, counted in chunk_attempts); discord.js
    // would otherwise re-send 5xx and timeouts at once. 429 waits stay with discord.js.
    rest: { api: config.DISCORD_API_URL, timeout: config.UPLOAD_TIMEOUT_MS, retries: 0 },
    enforceNonce: true,
  });
}

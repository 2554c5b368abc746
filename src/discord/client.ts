/** The discord.js client, pointed at `DISCORD_API_URL`, with our own retry policy in charge. */
import { Client, GatewayIntentBits, REST, type RESTOptions } from 'discord.js';
import type { Config } from '../config.js';

type RestConfig = Pick<Config, 'DISCORD_API_URL' | 'UPLOAD_TIMEOUT_MS'>;

function restOptions(config: RestConfig): Partial<RESTOptions> {
  // Every retry of an upload is ours (backoff, counted in chunk_attempts); discord.js
  // would otherwise re-send 5xx and timeouts at once. 429 waits stay with discord.js.
  return { api: config.DISCORD_API_URL, timeout: config.UPLOAD_TIMEOUT_MS, retries: 0 };
}

export function createClient(config: RestConfig): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: restOptions(config),
    enforceNonce: true,
  });
}

/**
 * Extra REST clients for parallel uploads. discord.js sends the requests of one rate-limit
 * bucket strictly one after another (one queue per channel's message-create bucket), so with
 * one client MAX_PARALLEL_UPLOADS > 1 only queues inside it: one more client per slot puts
 * that many messages on the wire. Each still waits out every 429 it meets.
 */
export function createUploadLanes(config: RestConfig & Pick<Config, 'MAX_PARALLEL_UPLOADS'>, token: string): REST[] {
  return Array.from({ length: Math.max(0, config.MAX_PARALLEL_UPLOADS - 1) }, () => new REST(restOptions(config)).setToken(token));
}

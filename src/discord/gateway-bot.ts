/**
 * `GET /gateway/bot` at DISCORD_API_URL: the shard count Discord recommends and how many
 * shards may IDENTIFY at once. Asked through discord.js's REST client, since discord.js's own
 * `totalShards: 'auto'` (fetchRecommendedShardCount) always asks discord.com, whatever REST
 * base the bot is given.
 */
import { REST, Routes } from 'discord.js';
import { z } from 'zod';
import type { Config } from '../config.js';
import { restOptions } from './client.js';
import { classifyRestError } from './classify.js';
import { ShardingError } from '../errors.js';

export interface GatewayBot {
  /** The shard count Discord recommends for the bot's guilds. */
  shards: number;
  /** Shards that may IDENTIFY at once (one per rate-limit key, shard id % this, per 5 s). */
  maxConcurrency: number;
  /** Session starts (IDENTIFYs) left until `resetAfterMs`. */
  remaining: number;
  resetAfterMs: number;
}

const gatewayBotSchema = z.looseObject({
  shards: z.number().int().min(1),
  session_start_limit: z.looseObject({
    remaining: z.number().int().min(0),
    reset_after: z.number().min(0),
    max_concurrency: z.number().int().min(1),
  }),
});

/** A start-up question: it should not wait as long as an upload may. */
const TIMEOUT_MS = 15_000;

/** The answer, or a ShardingError saying what went wrong in words for the operator (never the token). */
export async function fetchGatewayBot(config: Pick<Config, 'DISCORD_API_URL'>, token: string): Promise<GatewayBot> {
  const rest = new REST(restOptions({ DISCORD_API_URL: config.DISCORD_API_URL, UPLOAD_TIMEOUT_MS: TIMEOUT_MS })).setToken(token);
  let body: unknown;
  try {
    body = await rest.get(Routes.gatewayBot());
  } catch (error) {
    const failure = classifyRestError(error);
    const what = failure.status === 401 ? 'Discord rejected DISCORD_TOKEN (401 Unauthorized)' : failure.message;
    throw new ShardingError(`GET /gateway/bot at ${config.DISCORD_API_URL} failed: ${what}`, { cause: error, status: failure.status });
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  const parsed = gatewayBotSchema.safeParse(body);
  if (!parsed.success)
    throw new ShardingError(`GET /gateway/bot at ${config.DISCORD_API_URL} answered something unexpected: ${parsed.error.message}`);
  const limit = parsed.data.session_start_limit;
  return { shards: parsed.data.shards, maxConcurrency: limit.max_concurrency, remaining: limit.remaining, resetAfterMs: limit.reset_after };
}

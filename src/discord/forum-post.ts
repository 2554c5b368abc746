/**
 * A transfer's forum post Discord made but the record never got (the bot killed between
 * Discord's answer and the write): found among the guild's active threads, so the next run
 * takes it up instead of making a second post (README, 'Parts in a thread').
 */
import { Routes, type APIChannel, type APIMessage, type REST, type RESTGetAPIGuildThreadsResult } from 'discord.js';
import type { Logger } from '../log.js';
import type { StoredTransfer } from '../store/types.js';
import { retry, type RetryOptions } from '../transfer/retry.js';
import { classifyRestError } from './classify.js';

/** Discord's epoch, in ms since 1970: a snowflake's time is its top bits plus this. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
/** How far Discord's clock may be behind the bot's for a post made after the transfer began. */
const CLOCK_SKEW_MS = 60_000;
/** At most this many of the newest posts that could be it have their first message read. */
const MAX_CANDIDATES = 10;

/** The post an earlier run made but never recorded, asked with `retries`; null when none is, or Discord would not say (a new post is made: logged). */
export async function unrecordedPost(
  o: { rest: REST; log: Logger },
  transfer: StoredTransfer,
  botUserId: string,
  retries: RetryOptions,
): Promise<string | null> {
  try {
    return (await retry(() => findUnrecordedPost(o.rest, transfer, botUserId), retries)).value;
  } catch (error) {
    o.log.warn({ err: error, transfer_id: transfer.id }, 'could not look for a forum post an earlier run made; making a new one');
    return null;
  }
}

/**
 * The post in the transfer's forum, by the bot, made after the transfer began, whose first
 * message (the progress message, with the post's id) names the transfer; null when none is.
 */
async function findUnrecordedPost(rest: REST, transfer: StoredTransfer, botUserId: string): Promise<string | null> {
  if (transfer.guild_id === null) return null;
  const since = Date.parse(transfer.created_at) - CLOCK_SKEW_MS;
  const { threads } = (await rest.get(Routes.guildActiveThreads(transfer.guild_id))) as RESTGetAPIGuildThreadsResult;
  const candidates = threads
    .filter((t) => isBotPostIn(t, transfer.channel_id, botUserId) && createdAt(t.id) >= since)
    .sort((a, b) => createdAt(b.id) - createdAt(a.id))
    .slice(0, MAX_CANDIDATES);
  for (const { id } of candidates) {
    const first = await firstMessage(rest, id);
    if (first?.author.id === botUserId && first.content.includes(`\`${transfer.id}\``)) return id;
  }
  return null;
}

function isBotPostIn(channel: APIChannel, forumId: string, botUserId: string): boolean {
  return 'parent_id' in channel && channel.parent_id === forumId && 'owner_id' in channel && channel.owner_id === botUserId;
}

/** A snowflake's time, in ms since 1970. */
function createdAt(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);
}

/** A post's first message (its id is the post's); null when it was deleted. */
async function firstMessage(rest: REST, postId: string): Promise<APIMessage | null> {
  try {
    return (await rest.get(Routes.channelMessage(postId, postId))) as APIMessage;
  } catch (error) {
    if (classifyRestError(error).reason === 'http_404') return null;
    throw error;
  }
}

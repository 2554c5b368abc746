/**
 * Threads Discord made for a transfer but the record never got: a forum post (the bot killed
 * between Discord's answer and the write) and a lane (its answer lost on the way, or the bot
 * killed before the write). Found among the guild's active threads, so the next attempt takes
 * them up instead of making a second one (README, 'Parts in a thread' and 'Lanes').
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
  const candidates = (await botThreadsSince(rest, transfer, botUserId)).slice(0, MAX_CANDIDATES);
  for (const { id } of candidates) {
    const first = await firstMessage(rest, id);
    if (first?.author.id === botUserId && first.content.includes(`\`${transfer.id}\``)) return id;
  }
  return null;
}

/**
 * The transfer's lane thread named `name` that an earlier attempt made and nobody recorded:
 * active, in its channel, by the bot, made after the transfer began, still empty, and not one
 * of `taken` (threads recorded by any transfer, or made and on their way to a record); null when
 * there is none.
 */
export async function unrecordedLane(
  rest: REST,
  transfer: StoredTransfer,
  botUserId: string,
  name: string,
  taken: ReadonlySet<string>,
): Promise<string | null> {
  const found = (await botThreadsSince(rest, transfer, botUserId)).find(
    (t) => t.name === name && !taken.has(t.id) && 'message_count' in t && (t.message_count ?? 0) === 0,
  );
  return found?.id ?? null;
}

/** The guild's active threads in the transfer's channel, by the bot, made after the transfer began: the newest first. */
async function botThreadsSince(rest: REST, transfer: StoredTransfer, botUserId: string): Promise<APIChannel[]> {
  if (transfer.guild_id === null) return [];
  const since = Date.parse(transfer.created_at) - CLOCK_SKEW_MS;
  const { threads } = (await rest.get(Routes.guildActiveThreads(transfer.guild_id))) as RESTGetAPIGuildThreadsResult;
  return threads
    .filter((t) => isBotThreadIn(t, transfer.channel_id, botUserId) && createdAt(t.id) >= since)
    .sort((a, b) => createdAt(b.id) - createdAt(a.id));
}

function isBotThreadIn(channel: APIChannel, parentId: string, botUserId: string): boolean {
  return 'parent_id' in channel && channel.parent_id === parentId && 'owner_id' in channel && channel.owner_id === botUserId;
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

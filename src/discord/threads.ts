/**
 * A transfer's own thread (README, 'Parts in a thread'): with PARTS_IN=thread, a public thread
 * started from the transfer's progress message, where its parts and manifest go, recorded in
 * the transfer before any part is posted there; archived when the transfer ends. Where the bot
 * may not make threads or post in them, the parts go to the channel and a note says why. Its
 * other lanes are made by lane-threads.ts.
 */
import {
  ChannelType,
  DiscordAPIError,
  PermissionFlagsBits,
  Routes,
  type APIChannel,
  type Client,
  type PermissionsBitField,
  type REST,
} from 'discord.js';
import { DiskWriteError, RetryFailure } from '../errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import { retry, type RetryOptions } from '../transfer/retry.js';
import { ownThread } from '../transfer/part-records.js';
import type { PostedMessage } from '../transfer/sink.js';
import { classifyRestError } from './classify.js';
import { LaneThreads } from './lane-threads.js';
import { unrecordedPost } from './unrecorded-threads.js';
import { deleteMessages } from './progress-message.js';
import { IN_CHANNEL_NOTE } from './progress.js';
import { threadName } from './thread-names.js';

/** A week without a message (minutes): the bot archives the thread itself when the transfer ends. */
const AUTO_ARCHIVE_MINUTES = 10_080;
/** What the bot needs in the channel to put a transfer's parts in a thread of its own. */
const THREAD_PERMISSIONS = [PermissionFlagsBits.CreatePublicThreads, PermissionFlagsBits.SendMessagesInThreads];
/** Discord's codes: Missing Permissions; a thread already started from this message. */
const MISSING_PERMISSIONS = 50013;
const THREAD_EXISTS = 160004;

export interface TransferThreadsOptions {
  rest: REST;
  store: ProgressStore;
  log: Logger;
  partsIn: 'thread' | 'channel';
  /** The end's archive: RETRY_LIMIT_PER_CHUNK and RETRY_BACKOFF_BASE_MS, as for the final edit. */
  retryLimit: number;
  backoffBaseMs: number;
  /** MAX_PARALLEL_UPLOADS: the lanes a transfer posts through, its own thread and this many less one more threads (README, 'Lanes'). */
  lanes: number;
  /** MAX_CHUNKS_PER_MESSAGE: with the transfer's part count, how many part messages it makes at least (no lane is made for none). */
  partsPerMessage: number;
  /** The bot's permissions in a channel as Discord reported them (the guild cache); null when not known. */
  botPermissions: (channelId: string) => Readonly<PermissionsBitField> | null;
  /** A channel's type as the guild cache has it; null when not known. */
  channelType: (channelId: string) => ChannelType | null;
  /** The bot's user id (the author of its forum posts); null before it is logged in. */
  botUserId: () => string | null;
}

/** Channels a transfer's parts go to as they are: a thread cannot hold threads. */
const THREAD_TYPES: ReadonlySet<ChannelType> = new Set([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

export class TransferThreads {
  readonly #o: TransferThreadsOptions;
  readonly #lanes: LaneThreads;

  constructor(options: TransferThreadsOptions) {
    this.#o = options;
    this.#lanes = new LaneThreads(options, {
      start: (transfer, name, signal) => this.#start(transfer, null, signal, name),
      exists: (threadId, signal) => this.#exists(threadId, signal),
      record: (id, change) => this.#record(id, change),
      retries: (signal) => this.#retries(signal),
    });
  }

  /**
   * Before a run posts any part: the transfer's thread, made from its progress message when it
   * has none (or the one it had is gone) and recorded durably; with PARTS_IN=channel, or where
   * the bot may not, nothing (the parts go to the channel, and a note says why).
   */
  async prepare(transfer: StoredTransfer, progressMessageId: string, signal: AbortSignal): Promise<void> {
    const type = this.#o.channelType(transfer.channel_id);
    // A forum post is the transfer's thread from the start (startForumPost), and the only lane:
    // a post cannot hold threads, and more posts would crowd the forum. A thread takes the parts itself (one lane: threads hold no threads).
    if (type === ChannelType.GuildForum || (type !== null && THREAD_TYPES.has(type))) return;
    if (await this.#ownThread(transfer, progressMessageId, signal)) await this.#lanes.make(transfer, signal);
  }

  /** Lane 0: the transfer's own thread, kept or made; false when its parts go to the channel. */
  async #ownThread(transfer: StoredTransfer, progressMessageId: string, signal: AbortSignal): Promise<boolean> {
    const recorded = ownThread(transfer);
    // A transfer keeps its thread while it is there, whatever PARTS_IN says now.
    if (recorded && (await this.#exists(recorded.id, signal))) return true;
    if (this.#o.partsIn !== 'thread') {
      if (recorded) await this.#record(transfer.id, (t) => void (t.threads = t.threads.filter((x) => x.lane !== 0)));
      return false;
    }
    const lacking = this.#o.botPermissions(transfer.channel_id)?.missing(THREAD_PERMISSIONS) ?? [];
    if (lacking.length > 0) return this.#inChannel(transfer, `the bot lacks ${lacking.join(', ')} there`);
    let threadId: string;
    try {
      // A thread gone is replaced by one without a starter: a new id, so Discord's nonces from the old one cannot answer for it.
      // A lost answer is asked again: a thread made meanwhile answers 160004 and is taken up (#start).
      ({ value: threadId } = await retry(() => this.#start(transfer, recorded ? null : progressMessageId, signal), this.#retries(signal)));
    } catch (failure) {
      const error = failure instanceof RetryFailure ? failure.cause : failure;
      signal.throwIfAborted();
      if (error instanceof DiscordAPIError && error.code === MISSING_PERMISSIONS)
        return this.#inChannel(transfer, 'Discord refused to make the thread (Missing Permissions)');
      this.#o.log.warn({ err: error, transfer_id: transfer.id }, 'could not start the transfer thread; its parts go to the channel');
      return this.#inChannel(transfer, `Discord refused to make the thread: ${classifyRestError(error).message}`);
    }
    await this.#record(transfer.id, (t) => {
      // A thread gone since is dropped: its parts are missing, and are posted again in the new one.
      t.threads = [...t.threads.filter((x) => x.lane !== 0 && x.id !== threadId), { id: threadId, lane: 0 }];
    });
    return true;
  }

  /**
   * In a forum (the only way to post there, whatever PARTS_IN says): a new post (or one a killed
   * run made, unrecorded) whose first message is the progress message with `content`; recorded as
   * the transfer's thread and progress message (the same id), in one write. Null when not a forum.
   */
  async startForumPost(transfer: StoredTransfer, content: string): Promise<string | null> {
    if (this.#o.channelType(transfer.channel_id) !== ChannelType.GuildForum) return null;
    const botUserId = this.#o.botUserId();
    const taken = botUserId === null ? null : await unrecordedPost(this.#o, transfer, botUserId, this.#retries());
    const body = { name: threadName(transfer), auto_archive_duration: AUTO_ARCHIVE_MINUTES, message: { content } };
    const postId = taken ?? ((await this.#o.rest.post(Routes.threads(transfer.channel_id), { body })) as APIChannel).id;
    await this.#record(transfer.id, (t) => {
      t.progress_message_id = postId;
      t.progress_channel_id = postId;
      t.threads = [...t.threads.filter((x) => x.lane !== 0), { id: postId, lane: 0 }];
    });
    return postId;
  }

  /**
   * The channel the progress message is in, as recorded; a forum transfer recorded before that
   * was kept has it in its post (lane 0, the message's own id), which only the channel's type tells.
   */
  progressChannelId(transfer: StoredTransfer): string {
    if (transfer.progress_channel_id !== null) return transfer.progress_channel_id;
    const threadId = ownThread(transfer)?.id;
    const inPost = threadId !== undefined && threadId === transfer.progress_message_id;
    return inPost && this.#o.channelType(transfer.channel_id) === ChannelType.GuildForum ? threadId : transfer.channel_id;
  }

  /** A message of an archived thread cannot be edited: a forum post whose first message is the progress message is reopened for its edit. */
  async reopenPost(transfer: StoredTransfer): Promise<void> {
    const channelId = this.progressChannelId(transfer);
    if (channelId !== transfer.channel_id) await this.#setArchived(transfer, channelId, false);
  }

  /** The transfer has ended (complete, error, cancelled): its thread is archived, best effort. */
  async archive(transfer: StoredTransfer, signal: AbortSignal): Promise<void> {
    for (const { id } of transfer.threads) {
      try {
        await retry(() => this.#o.rest.patch(Routes.channel(id), { body: { archived: true } }), this.#retries(signal));
      } catch (error) {
        this.#o.log.warn({ err: error, transfer_id: transfer.id, thread_id: id }, 'could not archive the transfer thread');
      }
    }
  }

  /**
   * `/cancel delete_posted`: deletes the threads the bot made for the transfer, then, one by
   * one, the messages outside them. A thread Discord will not delete (no Manage Threads) has
   * its messages deleted one by one, and a note says so.
   */
  async deletePosted(transfer: StoredTransfer, messages: readonly PostedMessage[]): Promise<{ deleted: number; failed: number }> {
    const gone = new Set<string>();
    for (const { id } of transfer.threads) {
      try {
        await this.#o.rest.delete(Routes.channel(id));
        gone.add(id);
      } catch (error) {
        const failure = classifyRestError(error);
        if (failure.reason === 'http_404') gone.add(id);
        else {
          this.#o.log.warn({ err: error, transfer_id: transfer.id, thread_id: id }, 'could not delete the transfer thread');
          await this.#record(transfer.id, (t) => {
            t.notes.push(
              `could not delete the thread <#${id}> (${failure.message}; the bot needs Manage Threads): its messages are deleted one by one`,
            );
          });
        }
      }
    }
    // A message of an archived thread cannot be deleted: the threads kept are opened for it, then archived again.
    const kept = transfer.threads.filter((t) => !gone.has(t.id));
    for (const { id } of kept) await this.#setArchived(transfer, id, false);
    const left = messages.filter((m) => !gone.has(m.channel_id));
    const { deleted, failed } = await deleteMessages(this.#o.rest, this.#o.log, transfer, left);
    for (const { id } of kept) await this.#setArchived(transfer, id, true);
    return { deleted: deleted + messages.length - left.length, failed };
  }

  /**
   * The thread started from the progress message (one a crash left unrecorded is taken up: its
   * id is the message's); with no message, a thread of its own in the channel.
   */
  async #start(transfer: StoredTransfer, messageId: string | null, signal: AbortSignal, name = threadName(transfer)): Promise<string> {
    const body = { name, auto_archive_duration: AUTO_ARCHIVE_MINUTES };
    try {
      const route = messageId === null ? Routes.threads(transfer.channel_id) : Routes.threads(transfer.channel_id, messageId);
      const thread = (await this.#o.rest.post(route, {
        body: messageId === null ? { ...body, type: this.#ownType(transfer) } : body,
        signal,
      })) as APIChannel;
      return thread.id;
    } catch (error) {
      if (messageId !== null && error instanceof DiscordAPIError && error.code === THREAD_EXISTS) return messageId;
      throw error;
    }
  }

  /** A thread without a starter message: an announcement thread in an announcement channel, else a public one. */
  #ownType(transfer: StoredTransfer): ChannelType.PublicThread | ChannelType.AnnouncementThread {
    return this.#o.channelType(transfer.channel_id) === ChannelType.GuildAnnouncement ? ChannelType.AnnouncementThread : ChannelType.PublicThread;
  }

  /** Whether the recorded thread is still there (a moderator may have deleted it); an unknown answer counts as there. */
  async #exists(threadId: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#o.rest.get(Routes.channel(threadId), { signal });
      return true;
    } catch (error) {
      signal.throwIfAborted();
      return classifyRestError(error).reason !== 'http_404';
    }
  }

  /** RETRY_LIMIT_PER_CHUNK retries with backoff, of what may get better by asking again. */
  #retries(signal?: AbortSignal): RetryOptions {
    return { limit: this.#o.retryLimit, baseMs: this.#o.backoffBaseMs, retryable: (error) => classifyRestError(error).kind === 'transient', signal };
  }

  async #setArchived(transfer: StoredTransfer, threadId: string, archived: boolean): Promise<void> {
    try {
      await this.#o.rest.patch(Routes.channel(threadId), { body: { archived } });
    } catch (error) {
      this.#o.log.warn({ err: error, transfer_id: transfer.id, thread_id: threadId, archived }, 'could not change the transfer thread');
    }
  }

  async #inChannel(transfer: StoredTransfer, why: string): Promise<false> {
    const note = `${IN_CHANNEL_NOTE}: ${why}`;
    if (transfer.notes.at(-1) !== note)
      await this.#record(transfer.id, (t) => {
        t.notes.push(note);
      });
    return false;
  }

  async #record(id: string, change: Parameters<ProgressStore['update']>[1]): Promise<void> {
    // Kept in memory until the disk allows: the run pauses at its own first write, before any part.
    await this.#o.store.update(id, change).catch((error: unknown) => {
      if (!(error instanceof DiskWriteError && error.kept)) throw error;
    });
  }
}

/** The bot's permissions in a channel, overwrites included, as the guild cache has them (GUILD_CREATE); null when not cached. */
function cachedBotPermissions(client: Client, channelId: string): Readonly<PermissionsBitField> | null {
  const channel = client.channels.cache.get(channelId);
  if (!channel || channel.isDMBased()) return null;
  const me = channel.guild.members.me;
  return me ? channel.permissionsFor(me) : null;
}

/** A channel's type as the guild cache has it; null when not cached. */
function cachedChannelType(client: Client, channelId: string): ChannelType | null {
  return client.channels.cache.get(channelId)?.type ?? null;
}

/** The bot's TransferThreads: PARTS_IN and the retries from `config`, permissions and channel types from the client's guild cache. */
export function clientThreads(
  client: Client,
  store: ProgressStore,
  log: Logger,
  config: Pick<Config, 'PARTS_IN' | 'MAX_PARALLEL_UPLOADS' | 'MAX_CHUNKS_PER_MESSAGE' | 'RETRY_LIMIT_PER_CHUNK' | 'RETRY_BACKOFF_BASE_MS'>,
): TransferThreads {
  return new TransferThreads({
    rest: client.rest,
    store,
    log,
    partsIn: config.PARTS_IN,
    lanes: config.MAX_PARALLEL_UPLOADS,
    partsPerMessage: config.MAX_CHUNKS_PER_MESSAGE,
    retryLimit: config.RETRY_LIMIT_PER_CHUNK,
    backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
    botPermissions: (channelId) => cachedBotPermissions(client, channelId),
    channelType: (channelId) => cachedChannelType(client, channelId),
    botUserId: () => client.user?.id ?? null,
  });
}

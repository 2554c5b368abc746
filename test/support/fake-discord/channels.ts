/**
 * Channels as the routes see them: a guild channel or a thread (a channel of its own under a
 * text, announcement or forum channel), what the bot may do there (its permissions, computed as
 * Discord does, a thread taking its parent's), and a thread's life: made, archived, locked,
 * deleted, each with the gateway event Discord sends (THREAD_CREATE/UPDATE/DELETE).
 */
import { HttpError, err } from './http.js';
import type { MessageStore } from './message-store.js';
import type { Renderers } from './render.js';
import type { FakeState, ThreadState } from './state.js';
import type { FakeChannel, FakeThread } from './types.js';
import { Permissions } from './util.js';

export type ChannelRef = { kind: 'channel'; channel: FakeChannel } | { kind: 'thread'; thread: ThreadState; parent: FakeChannel };

export type ChannelStore = ReturnType<typeof channelStore>;

/** Gateway events of threads go to sessions with the GUILDS intent. */
const GUILDS_INTENT = 1 << 0;
/** A message's flag: a thread was started from it. */
const HAS_THREAD = 1 << 5;

export const refusal = {
  missingPermissions: () => new HttpError(403, { message: 'Missing Permissions', code: 50013 }),
  missingAccess: () => new HttpError(403, { message: 'Missing Access', code: 50001 }),
  archived: () => new HttpError(400, { message: 'Thread is archived', code: 50083 }),
  locked: () => new HttpError(400, { message: 'Thread is locked', code: 160005 }),
  wrongChannelType: () => new HttpError(400, { message: 'Cannot execute action on this channel type', code: 50024 }),
  notTextChannel: () => new HttpError(400, { message: 'Cannot send messages in a non-text channel', code: 50008 }),
  threadExists: () => new HttpError(400, { message: 'A thread has already been created for this message', code: 160004 }),
};

export function channelStore(s: FakeState, r: Renderers, m: MessageStore) {
  const { channelById, threads, gateway, messageOrder, messages, guildOf } = s;

  function lookup(id: string): ChannelRef | undefined {
    const channel = channelById.get(id);
    if (channel) return { kind: 'channel', channel };
    const thread = threads.get(id);
    const parent = thread && !thread.deleted ? channelById.get(thread.parentId) : undefined;
    return thread && parent ? { kind: 'thread', thread, parent } : undefined;
  }

  function or404(id: string): ChannelRef {
    const ref = lookup(id);
    if (!ref) throw err.unknownChannel();
    return ref;
  }

  /** The bot's permissions there (a thread: its parent's, as Discord computes them). */
  function botPermissions(ref: ChannelRef): bigint {
    const channel = ref.kind === 'thread' ? ref.parent : ref.channel;
    return s.shapes.botPermissionsIn(guildOf(channel.id), channel);
  }

  /** Discord's refusal: 403 Missing Access (50001) where the bot may not see the channel, else Missing Permissions (50013). */
  function requirePermissions(ref: ChannelRef, bits: bigint): void {
    const has = botPermissions(ref);
    if ((has & Permissions.Administrator) !== 0n || (has & bits) === bits) return;
    throw (has & Permissions.ViewChannel) === 0n ? refusal.missingAccess() : refusal.missingPermissions();
  }

  const may = (ref: ChannelRef, bits: bigint) => {
    const has = botPermissions(ref);
    return (has & Permissions.Administrator) !== 0n || (has & bits) === bits;
  };

  /**
   * Before the bot posts there. In a thread, what Discord asks of it: View Channel, Send Messages
   * in Threads, and Attach Files with files (the bot's posts in a plain channel are not checked:
   * tests made before the fake knew the bot's permissions post where only members may look). An
   * archived thread that is not locked is unarchived by the post, as on Discord; a locked one
   * refuses unless the bot may manage threads.
   */
  function beforePost(ref: ChannelRef, withFiles: boolean): void {
    if (ref.kind === 'channel' && ref.channel.type === 15) throw refusal.notTextChannel();
    if (ref.kind !== 'thread') return;
    requirePermissions(ref, Permissions.ViewChannel | Permissions.SendMessagesInThreads | (withFiles ? Permissions.AttachFiles : 0n));
    const { thread } = ref;
    if (thread.locked && !may(ref, Permissions.ManageThreads)) throw thread.archived ? refusal.archived() : refusal.locked();
    if (thread.archived) updateThread(thread, { archived: false });
  }

  /** Editing or deleting a message of an archived thread is refused, as on Discord. */
  function checkChangeable(ref: ChannelRef): void {
    if (ref.kind === 'thread' && ref.thread.archived) throw refusal.archived();
  }

  function createThread(t: { id: string; parent: FakeChannel; name: string; type: 10 | 11 | 12; autoArchiveDuration: number }): ThreadState {
    const now = new Date().toISOString();
    const thread: ThreadState = {
      id: t.id,
      guildId: guildOf(t.parent.id).id,
      parentId: t.parent.id,
      type: t.type,
      name: t.name,
      ownerId: s.botUserId,
      archived: false,
      locked: false,
      autoArchiveDuration: t.autoArchiveDuration,
      archiveTimestamp: now,
      createTimestamp: now,
      deleted: false,
      messageCount: 0,
      totalMessageSent: 0,
      lastMessageId: null,
    };
    threads.set(thread.id, thread);
    gateway.dispatch('THREAD_CREATE', { ...r.renderThread(thread, true), newly_created: true }, GUILDS_INTENT, thread.guildId);
    // The message it was started from now has a thread: Discord says so with MESSAGE_UPDATE.
    const starter = messages.get(thread.id);
    if (starter && !starter.deleted && starter.channel_id === thread.parentId) {
      starter.flags |= HAS_THREAD;
      m.dispatchMessage('MESSAGE_UPDATE', starter);
    }
    return thread;
  }

  function updateThread(thread: ThreadState, changes: { name?: string; archived?: boolean; locked?: boolean; autoArchiveDuration?: number }): void {
    if (changes.name !== undefined) thread.name = changes.name;
    if (changes.autoArchiveDuration !== undefined) thread.autoArchiveDuration = changes.autoArchiveDuration;
    if (changes.locked !== undefined) thread.locked = changes.locked;
    if (changes.archived !== undefined && changes.archived !== thread.archived) {
      thread.archived = changes.archived;
      thread.archiveTimestamp = new Date().toISOString();
    }
    gateway.dispatch('THREAD_UPDATE', r.renderThread(thread), GUILDS_INTENT, thread.guildId);
  }

  /** Gone with its messages (Discord sends no MESSAGE_DELETE for them); the message it was started from stays, without its thread. */
  function deleteThread(thread: ThreadState): void {
    thread.deleted = true;
    for (const msg of messageOrder) if (msg.channel_id === thread.id) msg.deleted = true;
    const starter = messages.get(thread.id);
    if (starter && starter.channel_id === thread.parentId) starter.flags &= ~HAS_THREAD;
    gateway.dispatch(
      'THREAD_DELETE',
      { id: thread.id, guild_id: thread.guildId, parent_id: thread.parentId, type: thread.type },
      GUILDS_INTENT,
      thread.guildId,
    );
  }

  function toFakeThread(t: ThreadState): FakeThread {
    const { id, parentId, guildId, type, name, ownerId, archived, locked, deleted, autoArchiveDuration, messageCount } = t;
    return { id, parentId, guildId, type, name, ownerId, archived, locked, deleted, autoArchiveDuration, messageCount: deleted ? 0 : messageCount };
  }

  return {
    lookup,
    or404,
    botPermissions,
    requirePermissions,
    may,
    beforePost,
    checkChangeable,
    createThread,
    updateThread,
    deleteThread,
    toFakeThread,
  };
}

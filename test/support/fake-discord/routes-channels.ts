/**
 * Routes of channels and threads: read, edit (a thread archived, unarchived, locked, renamed)
 * and delete a channel; start a thread from a message or without one; a forum post (a thread
 * with its first message); the guild's active threads. Bodies are checked against the OpenAPI
 * description, as message creates are.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { refusal, type ChannelRef } from './channels.js';
import { err, fieldError, HttpError, type Ctx } from './http.js';
import type { RouteDeps } from './routes.js';
import { toDiscordErrors } from './schema.js';
import type { ThreadState } from './state.js';
import { Permissions, snowflake } from './util.js';

/** A thread archives itself after this long without messages when the request names no duration: Discord's default, a day (minutes). */
const DEFAULT_AUTO_ARCHIVE_MINUTES = 1440;

function check(validate: ValidateFunction | null, payload: unknown): void {
  if (validate && !validate(payload)) throw err.invalidForm(toDiscordErrors(validate.errors));
}

const autoArchiveOf = (payload: Record<string, any>): number =>
  typeof payload['auto_archive_duration'] === 'number' ? payload['auto_archive_duration'] : DEFAULT_AUTO_ARCHIVE_MINUTES;

export function channelRoutes({ s, r, h, m, c, route }: RouteDeps): void {
  const { send, body } = h;
  const { renderThread, renderMessage } = r;
  const { channelObject } = s.shapes;

  const render = (ref: ChannelRef) => (ref.kind === 'thread' ? renderThread(ref.thread) : channelObject(s.guildOf(ref.channel.id), ref.channel));

  route('GET', '/channels/:id', { major: 'id' }, (ctx) => send(ctx, 200, render(c.or404(ctx.params['id']!))));

  route('PATCH', '/channels/:id', { major: 'id' }, async (ctx) => {
    const { payload } = m.checkBodyResult(await body(ctx));
    const ref = c.or404(ctx.params['id']!);
    check(s.validateThread.update, payload);
    if (ref.kind !== 'thread') {
      c.requirePermissions(ref, Permissions.ManageChannels);
      return send(ctx, 200, render(ref));
    }
    editThread(ref, payload);
    send(ctx, 200, renderThread(ref.thread));
  });

  /** Who may change what, as Discord has it: a locked thread is Manage Threads' alone; its owner may archive or rename it; anyone who may post may unarchive an unlocked one. */
  function editThread(ref: ChannelRef & { kind: 'thread' }, payload: Record<string, any>): void {
    const { thread } = ref;
    const archived = typeof payload['archived'] === 'boolean' ? payload['archived'] : undefined;
    const locked = typeof payload['locked'] === 'boolean' ? payload['locked'] : undefined;
    const name = typeof payload['name'] === 'string' ? payload['name'] : undefined;
    const autoArchiveDuration = typeof payload['auto_archive_duration'] === 'number' ? payload['auto_archive_duration'] : undefined;
    const owner = thread.ownerId === s.botUserId;
    const manager = c.may(ref, Permissions.ManageThreads);
    if (thread.archived && archived !== false && (name !== undefined || autoArchiveDuration !== undefined)) throw refusal.archived();
    if (locked !== undefined && locked !== thread.locked && !manager) throw refusal.missingPermissions();
    if (archived === false && thread.archived && thread.locked && !manager) throw refusal.missingPermissions();
    if (archived === false && thread.archived) c.requirePermissions(ref, Permissions.ViewChannel | Permissions.SendMessagesInThreads);
    if (archived === true && !thread.archived && !owner && !manager) throw refusal.missingPermissions();
    if ((name !== undefined || autoArchiveDuration !== undefined) && !owner && !manager) throw refusal.missingPermissions();
    c.updateThread(thread, {
      ...(name !== undefined ? { name } : {}),
      ...(archived !== undefined ? { archived } : {}),
      ...(locked !== undefined ? { locked } : {}),
      ...(autoArchiveDuration !== undefined ? { autoArchiveDuration } : {}),
    });
  }

  route('DELETE', '/channels/:id', { major: 'id' }, (ctx) => {
    const ref = c.or404(ctx.params['id']!);
    if (ref.kind !== 'thread') {
      c.requirePermissions(ref, Permissions.ManageChannels);
      throw err.badRequest('fake-discord does not delete guild channels');
    }
    c.requirePermissions(ref, Permissions.ManageThreads);
    const shown = renderThread(ref.thread);
    c.deleteThread(ref.thread);
    send(ctx, 200, shown);
  });

  route('POST', '/channels/:id/messages/:mid/threads', { major: 'id' }, async (ctx) => {
    const { payload } = m.checkBodyResult(await body(ctx));
    const ref = c.or404(ctx.params['id']!);
    check(s.validateThread.fromMessage, payload);
    if (ref.kind === 'thread' || ref.channel.type === 15) throw refusal.wrongChannelType();
    c.requirePermissions(ref, Permissions.ViewChannel | Permissions.CreatePublicThreads);
    const starter = m.messageOr404(ref.channel.id, ctx.params['mid']!);
    if (s.threads.get(starter.id)?.deleted === false) throw refusal.threadExists();
    const thread = c.createThread({
      id: starter.id,
      parent: ref.channel,
      name: String(payload['name']),
      type: ref.channel.type === 5 ? 10 : 11,
      autoArchiveDuration: autoArchiveOf(payload),
    });
    send(ctx, 201, renderThread(thread, true));
  });

  route('POST', '/channels/:id/threads', { major: 'id' }, async (ctx) => {
    const { payload, files } = m.checkBodyResult(await body(ctx));
    const ref = c.or404(ctx.params['id']!);
    check(s.validateThread.withoutMessage, payload);
    if (ref.kind === 'thread') throw refusal.wrongChannelType();
    if (ref.channel.type === 15) return forumPost(ctx, ref, payload, files);
    const type = typeof payload['type'] === 'number' ? payload['type'] : 12; // Discord's default: private
    if (type === 10 && ref.channel.type !== 5) throw refusal.wrongChannelType();
    c.requirePermissions(ref, Permissions.ViewChannel | (type === 12 ? Permissions.CreatePrivateThreads : Permissions.CreatePublicThreads));
    const name = String(payload['name']);
    const thread = c.createThread({
      id: snowflake(),
      parent: ref.channel,
      name,
      type: type as 10 | 11 | 12,
      autoArchiveDuration: autoArchiveOf(payload),
    });
    // Discord says in the channel that a thread was started there (a THREAD_CREATED system message).
    m.storeMessage(ref.channel.id, { content: name }, [], { type: 18 });
    send(ctx, 201, renderThread(thread, true));
  });

  /** A forum post: a public thread whose first message (with the thread's id) is the request's `message`. */
  function forumPost(
    ctx: Ctx,
    ref: ChannelRef & { kind: 'channel' },
    payload: Record<string, any>,
    files: Parameters<typeof m.buildAttachments>[2],
  ): void {
    const message: unknown = payload['message'];
    if (!message || typeof message !== 'object' || Array.isArray(message))
      throw err.invalidForm({ message: fieldError('BASE_TYPE_REQUIRED', 'This field is required') });
    const first = message as Record<string, any>;
    check(s.validateCreate, first);
    m.checkMessageLimits(first, files);
    c.requirePermissions(ref, Permissions.ViewChannel | Permissions.SendMessages | (files.length ? Permissions.AttachFiles : 0n));
    if (files.length === 0 && m.isEmpty(first, [])) throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
    const id = snowflake();
    const thread: ThreadState = c.createThread({
      id,
      parent: ref.channel,
      name: String(payload['name']),
      type: 11,
      autoArchiveDuration: autoArchiveOf(payload),
    });
    const msg = m.storeMessage(id, first, m.buildAttachments(id, first, files, false), { id });
    ctx.rec.messageId = msg.id;
    send(ctx, 201, { ...renderThread(thread, true), message: renderMessage(msg) });
  }

  route('GET', '/guilds/:guild/threads/active', { major: 'guild' }, (ctx) => {
    const guild = s.guildById.get(ctx.params['guild']!);
    if (!guild) throw err.unknownGuild();
    const active = [...s.threads.values()].filter((t) => t.guildId === guild.id && !t.deleted && !t.archived);
    send(ctx, 200, {
      threads: active.map((t) => renderThread(t)),
      members: active.map((t) => ({ id: t.id, user_id: s.botUserId, join_timestamp: t.createTimestamp, flags: 0 })),
    });
  });
}

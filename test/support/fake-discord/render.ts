/**
 * The shapes the fake sends for what it stores: messages and attachments as Discord's API has
 * them (with signed CDN links), users, and the `FakeMessage` view the tests read.
 */
import { createHmac } from 'node:crypto';
import type { FakeState, StoredAttachment, StoredMessage, ThreadState } from './state.js';
import type { FakeAttachment, FakeMessage } from './types.js';

export type Renderers = ReturnType<typeof renderers>;

export function renderers(s: FakeState) {
  const { issuedUrls, interactions, applicationId, botUserId, guildOf, authorObject, threads } = s;

  // CDN signing: links that expire as Discord's do (`ex`, `is`, `hm`).
  const signPath = (a: StoredAttachment) => `${a.channelId}/${a.id}/${a.filename}`;
  const hmac = (path: string, ex: string, is: string) => createHmac('sha256', s.cdnSecret).update(`${path}|${ex}|${is}`).digest('hex');

  function signedUrl(a: StoredAttachment, prefix: string): string {
    const now = Date.now();
    const expiresAt = now + s.cdnUrlTtlMs;
    const ex = Math.ceil(expiresAt / 1000).toString(16);
    const is = Math.floor(now / 1000).toString(16);
    const hm = hmac(signPath(a), ex, is);
    const prev = issuedUrls.get(hm);
    issuedUrls.set(hm, Math.max(prev ?? 0, expiresAt));
    if (issuedUrls.size > 200_000) for (const [k, v] of issuedUrls) if (v < now) issuedUrls.delete(k);
    return `${s.addresses.url}${prefix}/${a.channelId}/${a.id}/${encodeURIComponent(a.filename)}?ex=${ex}&is=${is}&hm=${hm}&`;
  }

  function renderAttachment(a: StoredAttachment): FakeAttachment & Record<string, unknown> {
    return {
      id: a.id,
      filename: a.filename,
      size: a.size,
      url: signedUrl(a, '/attachments'),
      proxy_url: signedUrl(a, '/media/attachments'),
      content_type: a.contentType,
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.title !== undefined ? { title: a.title } : {}),
      ...(a.ephemeral ? { ephemeral: true } : {}),
    };
  }

  /** A thread as Discord's API has it (a channel with `thread_metadata`); `member`: the bot's membership, as REST answers to its creator carry. */
  function renderThread(t: ThreadState, withMember = false): Record<string, unknown> {
    return {
      id: t.id,
      type: t.type,
      guild_id: t.guildId,
      parent_id: t.parentId,
      owner_id: t.ownerId,
      name: t.name,
      last_message_id: t.lastMessageId,
      last_pin_timestamp: null,
      rate_limit_per_user: 0,
      flags: 0,
      message_count: t.messageCount,
      member_count: 1,
      total_message_sent: t.totalMessageSent,
      thread_metadata: {
        archived: t.archived,
        archive_timestamp: t.archiveTimestamp,
        auto_archive_duration: t.autoArchiveDuration,
        locked: t.locked,
        create_timestamp: t.createTimestamp,
        ...(t.type === 12 ? { invitable: true } : {}),
      },
      ...(withMember ? { member: { id: t.id, user_id: botUserId, join_timestamp: t.createTimestamp, flags: 0 } } : {}),
    };
  }

  function renderMessage(m: StoredMessage): Record<string, any> {
    const out: Record<string, any> = {
      id: m.id,
      channel_id: m.channel_id,
      type: m.type,
      content: m.content,
      author: authorObject(),
      attachments: m.attachments.map(renderAttachment),
      embeds: m.embeds,
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: m.tts,
      timestamp: m.timestamp,
      edited_timestamp: m.edited_timestamp,
      flags: m.flags,
      components: m.components,
    };
    if (m.nonce !== undefined) out['nonce'] = m.nonce;
    // The message a thread was started from carries it (and the HAS_THREAD flag, set when it was).
    const thread = threads.get(m.id);
    if (thread && !thread.deleted && thread.parentId === m.channel_id) out['thread'] = renderThread(thread);
    if (m.interactionId) {
      const st = interactions.get(m.interactionId);
      out['webhook_id'] = applicationId;
      out['application_id'] = applicationId;
      if (st) {
        out['interaction_metadata'] = {
          id: st.id,
          type: st.type,
          name: st.name,
          command_type: 1,
          user: userObject(st.user),
          authorizing_integration_owners: { '0': guildOf(st.channelId).id },
        };
      }
    }
    return out;
  }

  function toFake(m: StoredMessage): FakeMessage {
    const f: FakeMessage = {
      id: m.id,
      channel_id: m.channel_id,
      content: m.content,
      author: { id: botUserId },
      attachments: m.attachments.map((a) => {
        const r = renderAttachment(a);
        return { id: r.id, filename: r.filename, size: r.size, url: r.url, proxy_url: r.proxy_url, content_type: r.content_type };
      }),
      edited_timestamp: m.edited_timestamp,
      timestamp: m.timestamp,
      deleted: m.deleted,
      edits: m.edits,
      flags: m.flags,
      embeds: m.embeds,
      components: m.components,
    };
    if (m.nonce !== undefined) f.nonce = String(m.nonce);
    if (m.interactionId) f.interactionId = m.interactionId;
    return f;
  }

  const userObject = (u: { id: string; username: string }) => ({
    id: u.id,
    username: u.username,
    discriminator: '0',
    avatar: null,
    global_name: null,
    public_flags: 0,
    flags: 0,
  });

  return { signPath, hmac, renderAttachment, renderMessage, renderThread, toFake, userObject };
}

/**
 * Messages as Discord keeps them: the limits a body must meet, attachments built from its
 * files, stored, edited and deleted messages, and the gateway events each change sends.
 */
import type { BodyResult, UploadedFile } from './body.js';
import { err, fieldError, HttpError } from './http.js';
import type { Renderers } from './render.js';
import type { FakeState, StoredAttachment, StoredMessage } from './state.js';
import { snowflake } from './util.js';

const CONTENT_LIMIT = 2000;
const MAX_FILES = 10;

export type MessageStore = ReturnType<typeof messageStore>;

export function messageStore(s: FakeState, r: Renderers) {
  const { messages, messageOrder, attachments, guildOf, gateway, threads } = s;

  function messageOr404(channelId: string, messageId: string): StoredMessage {
    const m = messages.get(messageId);
    if (!m || m.deleted || m.channel_id !== channelId || (m.flags & 64) !== 0) throw err.unknownMessage();
    return m;
  }

  /** Limits shared by every message-producing route; throws HttpError. */
  function checkBodyResult(b: BodyResult): { payload: Record<string, any>; files: UploadedFile[] } {
    switch (b.kind) {
      case 'tooLarge':
      case 'fileTooLarge':
        throw err.tooLarge();
      case 'bad':
        throw new HttpError(400, { message: b.message, code: 50109 });
      case 'none':
        return { payload: {}, files: [] };
      case 'json':
        if (!b.json || typeof b.json !== 'object' || Array.isArray(b.json))
          throw err.invalidForm(fieldError('BASE_TYPE_BAD_TYPE', 'Must be an object.'));
        return { payload: b.json as Record<string, any>, files: [] };
      case 'multipart':
        if (!b.payload || typeof b.payload !== 'object' || Array.isArray(b.payload))
          throw err.invalidForm({ payload_json: fieldError('BASE_TYPE_BAD_TYPE', 'Must be an object.') });
        return { payload: b.payload as Record<string, any>, files: b.files };
      default:
        throw new HttpError(400, { message: 'Bad request', code: 0 });
    }
  }

  function checkMessageLimits(payload: Record<string, any>, files: UploadedFile[]): void {
    const errors: Record<string, unknown> = {};
    // Discord counts characters (code points), not UTF-16 units.
    // eslint-disable-next-line @typescript-eslint/no-misused-spread
    if (typeof payload['content'] === 'string' && [...payload['content']].length > CONTENT_LIMIT) {
      errors['content'] = fieldError('BASE_TYPE_MAX_LENGTH', `Must be ${CONTENT_LIMIT} or fewer in length.`);
    }
    if (files.length > MAX_FILES) {
      errors['attachments'] = fieldError('BASE_TYPE_MAX_LENGTH', `Must be ${MAX_FILES} or fewer in length.`);
    }
    if (Object.keys(errors).length) throw err.invalidForm(errors);
  }

  function buildAttachments(
    channelId: string,
    payload: Record<string, any>,
    files: UploadedFile[],
    ephemeral: boolean,
    existing: StoredAttachment[] = [],
  ): StoredAttachment[] {
    const meta: any[] | null = Array.isArray(payload['attachments']) ? payload['attachments'] : null;
    const kept: StoredAttachment[] = [];
    if (meta) {
      for (const a of meta) {
        const old = existing.find((x) => x.id === String(a?.id));
        if (old) kept.push(old);
      }
    } else kept.push(...existing);
    const fresh: StoredAttachment[] = [];
    files.forEach((f, i) => {
      const idx = f.index >= 0 ? f.index : i;
      const m = meta?.find((a) => String(a?.id) === String(idx));
      const filename = typeof m?.filename === 'string' && m.filename ? m.filename : f.filename || `file${idx}`;
      const a: StoredAttachment = {
        id: snowflake(),
        channelId,
        filename: filename.replace(/[\s/\\]+/g, '_'),
        size: f.size,
        contentType: f.mimeType || 'application/octet-stream',
        data: f.data,
        ephemeral,
      };
      if (f.sha256 !== undefined) a.sha256 = f.sha256;
      if (typeof m?.description === 'string') a.description = m.description;
      if (typeof m?.title === 'string') a.title = m.title;
      attachments.set(a.id, a);
      fresh.push(a);
    });
    return [...kept, ...fresh];
  }

  function isEmpty(payload: Record<string, any>, atts: StoredAttachment[]): boolean {
    const nonEmptyArray = (v: unknown) => Array.isArray(v) && v.length > 0;
    return (
      !(typeof payload['content'] === 'string' && payload['content'].length > 0) &&
      !nonEmptyArray(payload['embeds']) &&
      !nonEmptyArray(payload['sticker_ids']) &&
      !nonEmptyArray(payload['components']) &&
      !payload['poll'] &&
      atts.length === 0
    );
  }

  function storeMessage(
    channelId: string,
    payload: Record<string, any>,
    atts: StoredAttachment[],
    extra: { type?: number; interactionId?: string; flags?: number; id?: string } = {},
  ): StoredMessage {
    const id = extra.id ?? snowflake();
    const m: StoredMessage = {
      id,
      channel_id: channelId,
      type: extra.type ?? 0,
      content: typeof payload['content'] === 'string' ? payload['content'] : '',
      flags: extra.flags ?? Number(payload['flags'] ?? 0) & (4 | 64 | 4096 | 32768),
      embeds: Array.isArray(payload['embeds']) ? payload['embeds'] : [],
      components: Array.isArray(payload['components']) ? payload['components'] : [],
      attachments: atts,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      deleted: false,
      edits: 0,
      tts: payload['tts'] === true,
    };
    if (payload['nonce'] !== undefined && payload['nonce'] !== null) m.nonce = payload['nonce'];
    if (extra.interactionId) m.interactionId = extra.interactionId;
    messages.set(id, m);
    messageOrder.push(m);
    const thread = threads.get(channelId);
    if (thread) {
      thread.messageCount++;
      thread.totalMessageSent++;
      thread.lastMessageId = id;
    }
    dispatchMessage('MESSAGE_CREATE', m);
    return m;
  }

  function applyEdit(m: StoredMessage, payload: Record<string, any>, files: UploadedFile[]): void {
    checkMessageLimits(payload, files);
    if ('content' in payload) m.content = typeof payload['content'] === 'string' ? payload['content'] : '';
    if ('embeds' in payload) m.embeds = Array.isArray(payload['embeds']) ? payload['embeds'] : [];
    if ('components' in payload) m.components = Array.isArray(payload['components']) ? payload['components'] : [];
    if ('attachments' in payload || files.length) m.attachments = buildAttachments(m.channel_id, payload, files, (m.flags & 64) !== 0, m.attachments);
    if (typeof payload['flags'] === 'number') m.flags = (m.flags & 64) | (payload['flags'] & 4);
    m.edits++;
    m.edited_timestamp = new Date().toISOString();
    dispatchMessage('MESSAGE_UPDATE', m);
  }

  function deleteMessage(m: StoredMessage): void {
    m.deleted = true;
    const thread = threads.get(m.channel_id);
    if (thread) thread.messageCount--;
    dispatchMessage('MESSAGE_DELETE', m);
  }

  /** Message events go to sessions that asked for GUILD_MESSAGES (1 << 9); ephemeral messages never. */
  function dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE' | 'MESSAGE_DELETE', m: StoredMessage): void {
    if ((m.flags & 64) !== 0) return;
    const guild = guildOf(m.channel_id);
    const d =
      t === 'MESSAGE_DELETE'
        ? { id: m.id, channel_id: m.channel_id, guild_id: guild.id }
        : {
            ...r.renderMessage(m),
            guild_id: guild.id,
            member: { roles: [guild.botRoleId], joined_at: s.startedAt, deaf: false, mute: false, flags: 0 },
          };
    gateway.dispatch(t, d, 1 << 9, guild.id);
  }

  function liveChannelMessages(channelId: string): StoredMessage[] {
    return messageOrder.filter((m) => m.channel_id === channelId && !m.deleted && (m.flags & 64) === 0);
  }

  return {
    messageOr404,
    checkBodyResult,
    checkMessageLimits,
    buildAttachments,
    isEmpty,
    storeMessage,
    applyEdit,
    deleteMessage,
    liveChannelMessages,
    dispatchMessage,
  };
}

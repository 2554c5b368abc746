/** Routes of a channel's (or a thread's) messages: create (nonces, the OpenAPI check, the bot's permissions, Discord's processing time), list, read, edit, delete. */
import { err, fieldError, HttpError } from './http.js';
import type { RouteDeps } from './routes.js';
import { componentErrors, toDiscordErrors } from './schema.js';
import type { StoredMessage } from './state.js';
import { cmpSnowflake } from './util.js';
import { sleep } from '../wait.js';

export function messageRoutes({ s, r, h, m, c, route }: RouteDeps): void {
  const { send, send429, body } = h;
  const { renderMessage } = r;
  const { messageOr404, checkBodyResult, checkMessageLimits, buildAttachments, isEmpty, storeMessage, applyEdit, deleteMessage } = m;
  const { nonces, messages, validateCreate, validateEdit } = s;

  route('POST', '/channels/:id/messages', { major: 'id' }, async (ctx) => {
    const channelId = ctx.params['id']!;
    const b = await body(ctx);
    if (s.countAtBody && ctx.bucket) {
      const wait = ctx.bucket.take(Date.now());
      if (wait > 0) return send429(ctx, wait, false, 'user', true);
    }
    const ref = c.or404(channelId);
    const { payload, files } = checkBodyResult(b);
    checkMessageLimits(payload, files);
    if (validateCreate && !validateCreate(payload)) throw err.invalidForm(toDiscordErrors(validateCreate.errors));
    checkComponents(payload);
    const enforce = payload['enforce_nonce'] === true && payload['nonce'] !== undefined && payload['nonce'] !== null;
    const nonceKey = `${channelId}:${String(payload['nonce'])}`;
    if (enforce) {
      const seen = nonces.get(nonceKey);
      const prev = seen && Date.now() - seen.at < s.nonceTtlMs ? messages.get(seen.messageId) : undefined;
      if (prev) {
        ctx.rec.messageId = prev.id;
        send(ctx, 200, renderMessage(prev));
        return;
      }
    }
    if (files.length === 0 && isEmpty(payload, [])) throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
    c.beforePost(ref, files.length > 0);
    // Discord's own time to create it; a client that went away meanwhile does not stop that.
    if (s.processingMs > 0) await sleep(s.processingMs);
    const atts = buildAttachments(channelId, payload, files, false);
    const msg = storeMessage(channelId, payload, atts);
    if (enforce) nonces.set(nonceKey, { messageId: msg.id, at: Date.now() });
    ctx.rec.messageId = msg.id;
    send(ctx, 200, renderMessage(msg));
  });

  route('GET', '/channels/:id/messages', { major: 'id' }, (ctx) => {
    const channelId = ctx.params['id']!;
    c.or404(channelId);
    const q = ctx.query;
    const rawLimit = q.get('limit');
    const limit = rawLimit === null ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw err.invalidForm({ limit: fieldError('NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.') });
    for (const k of ['before', 'after', 'around']) {
      const v = q.get(k);
      if (v !== null && !/^\d{1,20}$/.test(v)) throw err.invalidForm({ [k]: fieldError('NUMBER_TYPE_COERCE', `Value "${v}" is not snowflake.`) });
    }
    const all = m.liveChannelMessages(channelId); // ascending
    let picked: StoredMessage[];
    const before = q.get('before');
    const after = q.get('after');
    const around = q.get('around');
    if (around !== null) {
      const half = Math.floor(limit / 2);
      const older = all.filter((x) => cmpSnowflake(x.id, around) < 0).slice(-half);
      const newer = all.filter((x) => cmpSnowflake(x.id, around) >= 0).slice(0, limit - older.length);
      picked = [...older, ...newer];
    } else if (before !== null) {
      picked = all.filter((x) => cmpSnowflake(x.id, before) < 0).slice(-limit);
    } else if (after !== null) {
      picked = all.filter((x) => cmpSnowflake(x.id, after) > 0).slice(0, limit);
    } else {
      picked = all.slice(-limit);
    }
    send(ctx, 200, picked.reverse().map(renderMessage));
  });

  route('GET', '/channels/:id/messages/:mid', { major: 'id' }, (ctx) => {
    c.or404(ctx.params['id']!);
    send(ctx, 200, renderMessage(messageOr404(ctx.params['id']!, ctx.params['mid']!)));
  });

  route('PATCH', '/channels/:id/messages/:mid', { major: 'id' }, async (ctx) => {
    const b = await body(ctx);
    const ref = c.or404(ctx.params['id']!);
    const msg = messageOr404(ctx.params['id']!, ctx.params['mid']!);
    c.checkChangeable(ref);
    const { payload, files } = checkBodyResult(b);
    if (validateEdit && !validateEdit(payload)) throw err.invalidForm(toDiscordErrors(validateEdit.errors));
    checkComponents(payload, msg.flags);
    applyEdit(msg, payload, files);
    ctx.rec.messageId = msg.id;
    send(ctx, 200, renderMessage(msg));
  });

  route('DELETE', '/channels/:id/messages/:mid', { major: 'id' }, (ctx) => {
    const ref = c.or404(ctx.params['id']!);
    const msg = messageOr404(ctx.params['id']!, ctx.params['mid']!);
    c.checkChangeable(ref);
    deleteMessage(msg);
    ctx.rec.messageId = msg.id;
    send(ctx, 204);
  });
}

/** Discord's rules for `components` that the OpenAPI shapes do not say (an edit without `flags` keeps the message's). */
function checkComponents(payload: Record<string, any>, flags: unknown = payload['flags']): void {
  const errors = componentErrors(payload['components'], payload['flags'] ?? flags);
  if (Object.keys(errors).length > 0) throw err.invalidForm(errors);
}

/** Routes of interactions: the callback (Discord's deadline, one per interaction) and the webhook of follow-ups and @original. */
import { err, fieldError, HttpError, type Ctx } from './http.js';
import type { RouteDeps } from './routes.js';
import type { InteractionState, StoredMessage } from './state.js';

/** Wakes the tests waiting on this interaction (`InteractionHandle.waitFor`). */
function notify(st: InteractionState): void {
  for (const l of [...st.listeners]) l();
}

export function interactionRoutes({ s, r, h, m, route }: RouteDeps): void {
  const { send, body } = h;
  const { renderMessage } = r;
  const { checkBodyResult, checkMessageLimits, buildAttachments, isEmpty, storeMessage, applyEdit, deleteMessage } = m;
  const { interactions, interactionsByToken, messages, applicationId } = s;

  function interactionOr404(id: string, tok: string): InteractionState {
    const st = interactions.get(id);
    if (!st || st.token !== tok) throw err.unknownInteraction();
    return st;
  }

  function webhookInteraction(app: string, tok: string): InteractionState {
    const st = interactionsByToken.get(tok);
    if (app !== applicationId || !st) throw err.unknownWebhook();
    return st;
  }

  function originalOf(st: InteractionState): StoredMessage {
    const msg = st.originalId ? messages.get(st.originalId) : undefined;
    if (!msg || msg.deleted) throw err.unknownMessage();
    return msg;
  }

  function webhookMessage(st: InteractionState, mid: string): StoredMessage {
    if (mid === '@original') return originalOf(st);
    const msg = messages.get(mid);
    if (!msg || msg.deleted || msg.interactionId !== st.id) throw err.unknownMessage();
    return msg;
  }

  // Interaction callback (no auth)
  route('POST', '/interactions/:id/:token/callback', { auth: false, major: 'id' }, async (ctx) => {
    const b = await body(ctx);
    const st = interactionOr404(ctx.params['id']!, ctx.params['token']!);
    if (Date.now() - st.createdAt > s.callbackDeadlineMs) throw err.unknownInteraction();
    if (st.callback) throw new HttpError(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
    const { payload, files } = checkBodyResult(b);
    const type = Number(payload['type']);
    const data = (payload['data'] ?? undefined) as Record<string, any> | undefined;
    if (![1, 4, 5, 6, 7, 8, 9, 10, 12].includes(type))
      throw err.invalidForm({ type: fieldError('BASE_TYPE_CHOICES', 'Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.') });
    let msg: StoredMessage | undefined;
    if (type === 4 || type === 5) {
      const d = data ?? {};
      if (type === 4) checkMessageLimits(d, files);
      const flags = Number(d['flags'] ?? 0) & (4 | 64 | 4096 | 32768);
      const ephemeral = (flags & 64) !== 0;
      const atts = type === 4 ? buildAttachments(st.channelId, d, files, ephemeral) : [];
      if (type === 4 && isEmpty(d, atts)) throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
      msg = storeMessage(st.channelId, type === 4 ? d : { content: '' }, atts, { type: 20, interactionId: st.id, flags });
      st.originalId = msg.id;
      ctx.rec.messageId = msg.id;
    }
    st.callback = data === undefined ? { type } : { type, data };
    notify(st);
    if (ctx.query.get('with_response') === 'true') {
      const interaction: Record<string, unknown> = { id: st.id, type: st.type };
      if (msg) {
        interaction['response_message_id'] = msg.id;
        interaction['response_message_loading'] = type === 5;
        interaction['response_message_ephemeral'] = (msg.flags & 64) !== 0;
      }
      send(ctx, 200, { interaction, resource: { type, ...(msg ? { message: renderMessage(msg) } : {}) } });
    } else send(ctx, 204);
  });

  // Webhooks (interaction follow-ups and @original); no auth
  route('POST', '/webhooks/:app/:token', { auth: false, major: 'token' }, async (ctx) => {
    const b = await body(ctx);
    const st = webhookInteraction(ctx.params['app']!, ctx.params['token']!);
    if (!st.callback) throw err.unknownWebhook();
    const { payload, files } = checkBodyResult(b);
    checkMessageLimits(payload, files);
    const flags = Number(payload['flags'] ?? 0) & (4 | 64 | 4096 | 32768);
    const atts = buildAttachments(st.channelId, payload, files, (flags & 64) !== 0);
    if (isEmpty(payload, atts)) throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
    const msg = storeMessage(st.channelId, payload, atts, { type: 0, interactionId: st.id, flags });
    st.followUpIds.push(msg.id);
    ctx.rec.messageId = msg.id;
    notify(st);
    if (ctx.query.get('wait') === 'true') send(ctx, 200, renderMessage(msg));
    else send(ctx, 204);
  });
  for (const mid of ['@original', ':mid']) {
    const p = `/webhooks/:app/:token/messages/${mid}`;
    const midOf = (ctx: Ctx) => (mid === '@original' ? '@original' : ctx.params['mid']!);
    route('GET', p, { auth: false, major: 'token' }, (ctx) => {
      const st = webhookInteraction(ctx.params['app']!, ctx.params['token']!);
      send(ctx, 200, renderMessage(webhookMessage(st, midOf(ctx))));
    });
    route('PATCH', p, { auth: false, major: 'token' }, async (ctx) => {
      const b = await body(ctx);
      const st = webhookInteraction(ctx.params['app']!, ctx.params['token']!);
      const msg = webhookMessage(st, midOf(ctx));
      const { payload, files } = checkBodyResult(b);
      applyEdit(msg, payload, files);
      ctx.rec.messageId = msg.id;
      notify(st);
      send(ctx, 200, renderMessage(msg));
    });
    route('DELETE', p, { auth: false, major: 'token' }, (ctx) => {
      const st = webhookInteraction(ctx.params['app']!, ctx.params['token']!);
      const msg = webhookMessage(st, midOf(ctx));
      deleteMessage(msg);
      notify(st);
      send(ctx, 204);
    });
  }
}

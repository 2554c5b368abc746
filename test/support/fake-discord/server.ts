import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { FakeGateway } from './gateway.js';
import { guildShapes, makeGuilds, type GuildState } from './guilds.js';
import { readBody, drain, type BodyResult, type UploadedFile } from './body.js';
import { messageCreateValidator, resolveOpenApiPath, toDiscordErrors } from './schema.js';
import { Bucket, tooManyRequests } from './bucket.js';
import { startLinkProxy, type LinkProxy } from './network/link-proxy.js';
import { snowflake, cmpSnowflake, BOT_PERMISSIONS, shardOfGuild } from './util.js';
import { sleep } from '../wait.js';
import type {
  Fault,
  FakeDiscord,
  FakeDiscordOptions,
  FakeMessage,
  FakeAttachment,
  FakeChannel,
  InteractionHandle,
  InteractionInput,
  InteractionView,
  RecordedRequest,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// State shapes

interface StoredAttachment {
  id: string;
  channelId: string;
  filename: string;
  size: number;
  contentType: string;
  description?: string;
  title?: string;
  /** Empty when the fake was told not to keep attachment bytes (`retainAttachments`). */
  data: Buffer;
  /** Known at receipt when the bytes were dropped; else computed on demand. */
  sha256?: string;
  ephemeral: boolean;
}

interface StoredMessage {
  id: string;
  channel_id: string;
  type: number;
  content: string;
  nonce?: string | number;
  flags: number;
  embeds: unknown[];
  components: unknown[];
  attachments: StoredAttachment[];
  timestamp: string;
  edited_timestamp: string | null;
  deleted: boolean;
  edits: number;
  tts: boolean;
  interactionId?: string;
}

interface InteractionState {
  id: string;
  token: string;
  type: number;
  name: string;
  channelId: string;
  user: { id: string; username: string };
  createdAt: number;
  callback?: { type: number; data?: any };
  originalId?: string;
  followUpIds: string[];
  listeners: Set<() => void>;
}

interface RouteDef {
  method: string;
  segs: string[];
  name: string;
  auth: boolean;
  /** Param that is the bucket's major parameter. */
  major?: string;
  cdn?: boolean;
  handler: (ctx: Ctx) => Promise<void> | void;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  route: RouteDef;
  params: Record<string, string>;
  query: URLSearchParams;
  rec: RecordedRequest;
  bucket: Bucket | null;
  dropResponse: boolean;
  dropReset: boolean;
  hangResponse: boolean;
  /** storeThenStallAnswer: the answer stops half-way through its body. */
  stallAnswer: boolean;
  /** A cutBody fault: bytes of the body sent before the connection is closed. */
  cutBodyAfter?: number;
  finished: boolean;
}

/** Close a client connection: RST (the client sees ECONNRESET) or a plain FIN ('other side closed'). */
function killSocket(socket: Socket, reset: boolean): void {
  if (reset && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
  else socket.destroy();
}

class HttpError {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {}
}

const err = {
  unknownChannel: () => new HttpError(404, { message: 'Unknown Channel', code: 10003 }),
  unknownMessage: () => new HttpError(404, { message: 'Unknown Message', code: 10008 }),
  unknownWebhook: () => new HttpError(404, { message: 'Unknown Webhook', code: 10015 }),
  unknownInteraction: () => new HttpError(404, { message: 'Unknown interaction', code: 10062 }),
  unknownGuild: () => new HttpError(404, { message: 'Unknown Guild', code: 10004 }),
  tooLarge: () => new HttpError(413, { message: 'Request entity too large', code: 40005 }),
  invalidForm: (errors: Record<string, unknown>) => new HttpError(400, { message: 'Invalid Form Body', code: 50035, errors }),
  badRequest: (message: string) => new HttpError(400, { message, code: 50109 }),
};

const fieldError = (code: string, message: string) => ({ _errors: [{ code, message }] });

const CONTENT_LIMIT = 2000;
const MAX_FILES = 10;

// ---------------------------------------------------------------------------------------------

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const token = options.token ?? `fake-token-${randomBytes(12).toString('hex')}`;
  const applicationId = options.applicationId ?? snowflake();
  const botUserId = applicationId;
  const shardCount = options.shards ?? 1;
  const guilds = makeGuilds({
    guildId: options.guildId,
    channels: options.channels,
    roles: options.roles,
    guildCount: options.guildCount,
    shards: shardCount,
  });
  const guildId = guilds[0]!.id;
  const channels: FakeChannel[] = guilds[0]!.channels;
  const maxConcurrency = options.maxConcurrency ?? 1;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41250;
  const attachmentSizeLimit = options.attachmentSizeLimit ?? 10 * 1024 * 1024;
  const maxRequestBytes = options.maxRequestBytes ?? 25 * 1024 * 1024;
  const channelRateLimit = options.channelRateLimit ?? false;
  // Message creates counted once their body is in (network model), not when they start.
  const countAtBody = channelRateLimit !== false && channelRateLimit.countAt === 'body';
  const processingMs = options.processingMs ?? 0;
  const cdnUrlTtlMs = options.cdnUrlTtlMs ?? 24 * 60 * 60 * 1000;
  const callbackDeadlineMs = options.interactionCallbackDeadlineMs ?? 3000;
  const nonceTtlMs = options.nonceTtlMs ?? 5 * 60 * 1000;
  const retainAttachments = options.retainAttachments ?? true;
  const retainFileBytes = retainAttachments === true ? Number.POSITIVE_INFINITY : retainAttachments === false ? -1 : retainAttachments;
  const openApiPath = resolveOpenApiPath(options.openApiPath);
  const validateCreate = openApiPath ? messageCreateValidator(openApiPath) : null;
  const cdnSecret = randomBytes(32);
  const defaultUser = { id: snowflake(), username: 'fake-member' };
  const guildOwnerId = snowflake();
  const startedAt = new Date().toISOString();

  const guildById = new Map(guilds.map((g) => [g.id, g]));
  const channelById = new Map(guilds.flatMap((g) => g.channels.map((c) => [c.id, c] as const)));
  const guildOfChannel = new Map(guilds.flatMap((g) => g.channels.map((c) => [c.id, g] as const)));
  /** The guild a channel (known to the fake) belongs to; the first guild for an unknown one. */
  const guildOf = (channelId: string): GuildState => guildOfChannel.get(channelId) ?? guilds[0]!;
  const messages = new Map<string, StoredMessage>();
  const messageOrder: StoredMessage[] = [];
  const attachments = new Map<string, StoredAttachment>();
  const nonces = new Map<string, { messageId: string; at: number }>();
  const interactions = new Map<string, InteractionState>();
  const interactionsByToken = new Map<string, InteractionState>();
  const globalCommands: Record<string, unknown>[] = [];
  const guildCommands = new Map<string, Record<string, unknown>[]>();
  const buckets = new Map<string, Bucket>();
  const issuedUrls = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const pending = new Set<RecordedRequest>();
  const faultEntries: { fault: Fault; seen: number; applied: number }[] = [];
  const hanging = new Set<ServerResponse>();
  let globalBlockedUntil = 0;
  let stopped = false;

  let url = '';
  let gatewayUrl = '';

  const botUser = {
    id: botUserId,
    username: 'fake-splitter-bot',
    discriminator: '0',
    global_name: null,
    avatar: null,
    bot: true,
    system: false,
    flags: 0,
    public_flags: 0,
  };
  const authorObject = () => ({ ...botUser });

  const { channelObject, guildObject, guildCreate, basePermissions, permissionsIn } = guildShapes({
    author: authorObject,
    botUserId,
    ownerId: guildOwnerId,
    startedAt,
  });
  /** The guilds a gateway session gets: all of them unsharded, else those of its shard. */
  const guildsOfShard = (shard: [number, number] | undefined) => (shard ? guilds.filter((g) => shardOfGuild(g.id, shard[1]) === shard[0]) : guilds);

  const gateway = new FakeGateway({
    token,
    heartbeatIntervalMs,
    gatewayUrl: () => gatewayUrl,
    ready: ({ id, shard }) => ({
      v: 10,
      user: { ...authorObject(), verified: true, mfa_enabled: false, email: null },
      guilds: guildsOfShard(shard).map((g) => ({ id: g.id, unavailable: true })),
      session_id: id,
      resume_gateway_url: gatewayUrl,
      ...(shard ? { shard } : {}),
      application: { id: applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['["fake-discord-gateway"]'],
    }),
    guildCreates: (shard) => guildsOfShard(shard).map(guildCreate),
    identifyCloseCode: options.identifyCloseCode,
    requiredShards: options.requireSharding ? shardCount : undefined,
  });

  // -------------------------------------------------------------------------------------------
  // CDN signing

  const signPath = (a: StoredAttachment) => `${a.channelId}/${a.id}/${a.filename}`;
  const hmac = (path: string, ex: string, is: string) => createHmac('sha256', cdnSecret).update(`${path}|${ex}|${is}`).digest('hex');

  function signedUrl(a: StoredAttachment, prefix: string): string {
    const now = Date.now();
    const expiresAt = now + cdnUrlTtlMs;
    const ex = Math.ceil(expiresAt / 1000).toString(16);
    const is = Math.floor(now / 1000).toString(16);
    const hm = hmac(signPath(a), ex, is);
    const prev = issuedUrls.get(hm);
    issuedUrls.set(hm, Math.max(prev ?? 0, expiresAt));
    if (issuedUrls.size > 200_000) for (const [k, v] of issuedUrls) if (v < now) issuedUrls.delete(k);
    return `${url}${prefix}/${a.channelId}/${a.id}/${encodeURIComponent(a.filename)}?ex=${ex}&is=${is}&hm=${hm}&`;
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

  // -------------------------------------------------------------------------------------------
  // Message building

  function channelOr404(id: string): FakeChannel {
    const c = channelById.get(id);
    if (!c) throw err.unknownChannel();
    return c;
  }

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
    extra: { type?: number; interactionId?: string; flags?: number } = {},
  ): StoredMessage {
    const id = snowflake();
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
    dispatchMessage('MESSAGE_DELETE', m);
  }

  /** Message events go to sessions that asked for GUILD_MESSAGES (1 << 9); ephemeral messages never. */
  function dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE' | 'MESSAGE_DELETE', m: StoredMessage): void {
    if ((m.flags & 64) !== 0) return;
    const guild = guildOf(m.channel_id);
    const d =
      t === 'MESSAGE_DELETE'
        ? { id: m.id, channel_id: m.channel_id, guild_id: guild.id }
        : { ...renderMessage(m), guild_id: guild.id, member: { roles: [guild.botRoleId], joined_at: startedAt, deaf: false, mute: false, flags: 0 } };
    gateway.dispatch(t, d, 1 << 9, guild.id);
  }

  function liveChannelMessages(channelId: string): StoredMessage[] {
    return messageOrder.filter((m) => m.channel_id === channelId && !m.deleted && (m.flags & 64) === 0);
  }

  // -------------------------------------------------------------------------------------------
  // Interactions

  function notify(st: InteractionState): void {
    for (const l of [...st.listeners]) l();
  }

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
    const m = st.originalId ? messages.get(st.originalId) : undefined;
    if (!m || m.deleted) throw err.unknownMessage();
    return m;
  }

  function webhookMessage(st: InteractionState, mid: string): StoredMessage {
    if (mid === '@original') return originalOf(st);
    const m = messages.get(mid);
    if (!m || m.deleted || m.interactionId !== st.id) throw err.unknownMessage();
    return m;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP plumbing

  function rateLimitHeaders(ctx: Ctx): Record<string, string> {
    return ctx.bucket ? ctx.bucket.headers(Date.now()) : {};
  }

  function finishRecord(ctx: Ctx, status: number): void {
    pending.delete(ctx.rec);
    ctx.rec.status = status;
    ctx.rec.durationMs = Date.now() - ctx.rec.time;
    requests.push(ctx.rec);
  }

  function send(ctx: Ctx, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (ctx.finished) return;
    ctx.finished = true;
    if (body && typeof body === 'object' && typeof (body as { code?: unknown }).code === 'number' && status >= 400)
      ctx.rec.code = (body as { code: number }).code;
    if (ctx.dropResponse) {
      killSocket(ctx.req.socket, ctx.dropReset);
      finishRecord(ctx, 0);
      return;
    }
    if (ctx.hangResponse) {
      const res = ctx.res;
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      finishRecord(ctx, 0);
      return;
    }
    const allHeaders: Record<string, string> = { ...rateLimitHeaders(ctx), ...headers, Via: '1.1 google', 'X-Fake-Discord': '1' };
    if (body === undefined || status === 204) {
      ctx.res.writeHead(status, allHeaders);
      ctx.res.end();
    } else {
      const buf = Buffer.from(JSON.stringify(body));
      ctx.res.writeHead(status, { ...allHeaders, 'Content-Type': 'application/json', 'Content-Length': String(buf.length) });
      if (ctx.stallAnswer) {
        ctx.res.write(buf.subarray(0, buf.length >> 1));
        const res = ctx.res;
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      } else {
        ctx.res.end(buf);
      }
    }
    finishRecord(ctx, status);
  }

  /** `wholeSeconds`: Retry-After as Discord sends it (the network model); else with decimals, so waits in tests stay short. */
  function send429(ctx: Ctx, retryAfterMs: number, global: boolean, scope: 'user' | 'shared' | 'global', wholeSeconds = false): void {
    const now = Date.now();
    const answer = tooManyRequests(now, retryAfterMs, { global, scope, wholeSeconds, bucket: rateLimitHeaders(ctx) });
    send(ctx, 429, answer.body, answer.headers);
  }

  function bucketFor(route: RouteDef, params: Record<string, string>): Bucket | null {
    if (route.cdn) return null;
    const major = route.major ? (params[route.major] ?? '') : '';
    const key = `${route.name}:${major}`;
    let b = buckets.get(key);
    if (!b) {
      const hash = createHash('sha1').update(route.name).digest('hex').slice(0, 32);
      const isCreate = route.name === 'POST /channels/:id/messages';
      b = isCreate && channelRateLimit ? new Bucket(channelRateLimit.limit, channelRateLimit.windowMs, hash) : new Bucket(50, 1000, hash);
      buckets.set(key, b);
    }
    return b;
  }

  function matchFault(ctx: Ctx): Fault | null {
    const info = { method: ctx.rec.method, route: ctx.rec.route, path: ctx.rec.path };
    for (let i = 0; i < faultEntries.length; i++) {
      const e = faultEntries[i]!;
      const matches = typeof e.fault.route === 'function' ? e.fault.route(info) : e.fault.route === info.route || e.fault.route === '*';
      if (!matches) continue;
      e.seen++;
      if (e.seen <= (e.fault.after ?? 0)) continue;
      e.applied++;
      if (e.applied >= (e.fault.times ?? 1)) faultEntries.splice(i, 1);
      return e.fault;
    }
    return null;
  }

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bot ${token}`;
  }

  async function body(ctx: Ctx): Promise<BodyResult> {
    const b = await readBody(ctx.req, { maxRequestBytes, attachmentSizeLimit, retainFileBytes });
    ctx.rec.bytes = b.bytes;
    if (b.kind !== 'aborted') ctx.rec.bodyAt = Date.now();
    if (b.kind === 'aborted') {
      // The response's 'close' may have recorded it already.
      if (!ctx.finished) {
        ctx.finished = true;
        finishRecord(ctx, 0);
      }
      throw new AbortedRequest();
    }
    return b;
  }

  class AbortedRequest extends Error {}

  // -------------------------------------------------------------------------------------------
  // Routes

  const routes: RouteDef[] = [];
  function route(method: string, pattern: string, opts: { auth?: boolean; major?: string; cdn?: boolean }, handler: RouteDef['handler']): void {
    const def: RouteDef = { method, segs: pattern.split('/').filter(Boolean), name: `${method} ${pattern}`, auth: opts.auth ?? true, handler };
    if (opts.major) def.major = opts.major;
    if (opts.cdn) def.cdn = true;
    routes.push(def);
  }

  route('GET', '/gateway', { auth: false }, (ctx) => send(ctx, 200, { url: gatewayUrl }));
  route('GET', '/gateway/bot', {}, (ctx) =>
    send(ctx, 200, {
      url: gatewayUrl,
      shards: shardCount,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: maxConcurrency },
    }),
  );
  route('GET', '/users/@me', {}, (ctx) => send(ctx, 200, { ...authorObject(), verified: true, mfa_enabled: false, locale: 'en-US' }));
  const applicationObject = () => ({
    id: applicationId,
    name: 'fake-splitter-bot',
    icon: null,
    description: '',
    bot_public: false,
    bot_require_code_grant: false,
    flags: 0,
    verify_key: 'f'.repeat(64),
    team: null,
    owner: userObject(defaultUser),
    bot: authorObject(),
    approximate_guild_count: guilds.length,
  });
  route('GET', '/applications/@me', {}, (ctx) => send(ctx, 200, applicationObject()));
  route('GET', '/oauth2/applications/@me', {}, (ctx) => send(ctx, 200, applicationObject()));

  // Commands
  function normalizeCommand(c: Record<string, any>, gid: string | null, prev?: Record<string, unknown>): Record<string, unknown> {
    return {
      id: prev?.['id'] ?? snowflake(),
      application_id: applicationId,
      version: snowflake(),
      default_member_permissions: c['default_member_permissions'] ?? null,
      type: c['type'] ?? 1,
      name: c['name'],
      name_localizations: c['name_localizations'] ?? null,
      description: c['description'] ?? '',
      description_localizations: c['description_localizations'] ?? null,
      options: c['options'] ?? [],
      dm_permission: c['dm_permission'] ?? true,
      contexts: c['contexts'] ?? null,
      integration_types: c['integration_types'] ?? [0],
      nsfw: c['nsfw'] ?? false,
      ...(gid ? { guild_id: gid } : {}),
    };
  }
  function commandList(gid: string | null): Record<string, unknown>[] {
    if (!gid) return globalCommands;
    let l = guildCommands.get(gid);
    if (!l) guildCommands.set(gid, (l = []));
    return l;
  }
  async function putCommands(ctx: Ctx, gid: string | null): Promise<void> {
    if (ctx.params['app'] !== applicationId) throw new HttpError(403, { message: 'Missing Access', code: 50001 });
    const b = await body(ctx);
    const payload: unknown = b.kind === 'json' ? b.json : checkBodyResult(b).payload;
    if (!Array.isArray(payload)) throw err.invalidForm(fieldError('BASE_TYPE_BAD_TYPE', 'Must be an array.'));
    const list = commandList(gid);
    const next = (payload as Record<string, any>[]).map((c) =>
      normalizeCommand(
        c,
        gid,
        list.find((p) => p['name'] === c['name']),
      ),
    );
    list.splice(0, list.length, ...next);
    send(ctx, 200, next);
  }
  async function postCommand(ctx: Ctx, gid: string | null): Promise<void> {
    if (ctx.params['app'] !== applicationId) throw new HttpError(403, { message: 'Missing Access', code: 50001 });
    const { payload } = checkBodyResult(await body(ctx));
    const list = commandList(gid);
    const i = list.findIndex((p) => p['name'] === payload['name']);
    const cmd = normalizeCommand(payload, gid, i >= 0 ? list[i] : undefined);
    if (i >= 0) list[i] = cmd;
    else list.push(cmd);
    send(ctx, i >= 0 ? 200 : 201, cmd);
  }
  const checkGuild = (gid: string | undefined): GuildState => {
    const guild = gid === undefined ? undefined : guildById.get(gid);
    if (!guild) throw err.unknownGuild();
    return guild;
  };
  route('PUT', '/applications/:app/commands', { major: 'app' }, (ctx) => putCommands(ctx, null));
  route('GET', '/applications/:app/commands', { major: 'app' }, (ctx) => send(ctx, 200, commandList(null)));
  route('POST', '/applications/:app/commands', { major: 'app' }, (ctx) => postCommand(ctx, null));
  route(
    'PUT',
    '/applications/:app/guilds/:guild/commands',
    { major: 'guild' },
    (ctx) => (checkGuild(ctx.params['guild']), putCommands(ctx, ctx.params['guild']!)),
  );
  route('GET', '/applications/:app/guilds/:guild/commands', { major: 'guild' }, (ctx) => {
    checkGuild(ctx.params['guild']);
    send(ctx, 200, commandList(ctx.params['guild']!));
  });
  route(
    'POST',
    '/applications/:app/guilds/:guild/commands',
    { major: 'guild' },
    (ctx) => (checkGuild(ctx.params['guild']), postCommand(ctx, ctx.params['guild']!)),
  );

  // Guild / channels
  route('GET', '/guilds/:guild', { major: 'guild' }, (ctx) => {
    send(ctx, 200, guildObject(checkGuild(ctx.params['guild'])));
  });
  route('GET', '/guilds/:guild/channels', { major: 'guild' }, (ctx) => {
    const guild = checkGuild(ctx.params['guild']);
    send(
      ctx,
      200,
      guild.channels.map((c) => channelObject(guild, c)),
    );
  });
  route('GET', '/guilds/:guild/members/:user', { major: 'guild' }, (ctx) => {
    const guild = checkGuild(ctx.params['guild']);
    const uid = ctx.params['user'];
    if (uid === botUserId)
      send(ctx, 200, { user: authorObject(), roles: [guild.botRoleId], joined_at: startedAt, deaf: false, mute: false, flags: 0 });
    return;
    if (uid === defaultUser.id)
      send(ctx, 200, { user: userObject(defaultUser), roles: [], joined_at: startedAt, deaf: false, mute: false, flags: 0 });
    return;
    throw new HttpError(404, { message: 'Unknown Member', code: 10007 });
  });
  route('GET', '/channels/:id', { major: 'id' }, (ctx) => {
    const c = channelOr404(ctx.params['id']!);
    send(ctx, 200, channelObject(guildOf(c.id), c));
  });

  // Messages
  route('POST', '/channels/:id/messages', { major: 'id' }, async (ctx) => {
    const channelId = ctx.params['id']!;
    const known = channelById.has(channelId);
    const b = await body(ctx);
    if (countAtBody && ctx.bucket) {
      const wait = ctx.bucket.take(Date.now());
      if (wait > 0) return send429(ctx, wait, false, 'user', true);
    }
    if (!known) throw err.unknownChannel();
    const { payload, files } = checkBodyResult(b);
    checkMessageLimits(payload, files);
    if (validateCreate && !validateCreate(payload)) throw err.invalidForm(toDiscordErrors(validateCreate.errors));
    const enforce = payload['enforce_nonce'] === true && payload['nonce'] !== undefined && payload['nonce'] !== null;
    const nonceKey = `${channelId}:${String(payload['nonce'])}`;
    if (enforce) {
      const seen = nonces.get(nonceKey);
      const prev = seen && Date.now() - seen.at < nonceTtlMs ? messages.get(seen.messageId) : undefined;
      if (prev) {
        ctx.rec.messageId = prev.id;
        send(ctx, 200, renderMessage(prev));
        return;
      }
    }
    if (files.length === 0 && isEmpty(payload, [])) throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
    // Discord's own time to create it; a client that went away meanwhile does not stop that.
    if (processingMs > 0) await sleep(processingMs);
    const atts = buildAttachments(channelId, payload, files, false);
    const m = storeMessage(channelId, payload, atts);
    if (enforce) nonces.set(nonceKey, { messageId: m.id, at: Date.now() });
    ctx.rec.messageId = m.id;
    send(ctx, 200, renderMessage(m));
  });

  route('GET', '/channels/:id/messages', { major: 'id' }, (ctx) => {
    const channelId = ctx.params['id']!;
    channelOr404(channelId);
    const q = ctx.query;
    const rawLimit = q.get('limit');
    const limit = rawLimit === null ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw err.invalidForm({ limit: fieldError('NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.') });
    for (const k of ['before', 'after', 'around']) {
      const v = q.get(k);
      if (v !== null && !/^\d{1,20}$/.test(v)) throw err.invalidForm({ [k]: fieldError('NUMBER_TYPE_COERCE', `Value "${v}" is not snowflake.`) });
    }
    const all = liveChannelMessages(channelId); // ascending
    let picked: StoredMessage[];
    const before = q.get('before');
    const after = q.get('after');
    const around = q.get('around');
    if (around !== null) {
      const half = Math.floor(limit / 2);
      const older = all.filter((m) => cmpSnowflake(m.id, around) < 0).slice(-half);
      const newer = all.filter((m) => cmpSnowflake(m.id, around) >= 0).slice(0, limit - older.length);
      picked = [...older, ...newer];
    } else if (before !== null) {
      picked = all.filter((m) => cmpSnowflake(m.id, before) < 0).slice(-limit);
    } else if (after !== null) {
      picked = all.filter((m) => cmpSnowflake(m.id, after) > 0).slice(0, limit);
    } else {
      picked = all.slice(-limit);
    }
    send(ctx, 200, picked.reverse().map(renderMessage));
  });

  route('GET', '/channels/:id/messages/:mid', { major: 'id' }, (ctx) => {
    channelOr404(ctx.params['id']!);
    send(ctx, 200, renderMessage(messageOr404(ctx.params['id']!, ctx.params['mid']!)));
  });

  route('PATCH', '/channels/:id/messages/:mid', { major: 'id' }, async (ctx) => {
    const b = await body(ctx);
    channelOr404(ctx.params['id']!);
    const m = messageOr404(ctx.params['id']!, ctx.params['mid']!);
    const { payload, files } = checkBodyResult(b);
    applyEdit(m, payload, files);
    ctx.rec.messageId = m.id;
    send(ctx, 200, renderMessage(m));
  });

  route('DELETE', '/channels/:id/messages/:mid', { major: 'id' }, (ctx) => {
    channelOr404(ctx.params['id']!);
    const m = messageOr404(ctx.params['id']!, ctx.params['mid']!);
    deleteMessage(m);
    ctx.rec.messageId = m.id;
    send(ctx, 204);
  });

  // Interaction callback (no auth)
  route('POST', '/interactions/:id/:token/callback', { auth: false, major: 'id' }, async (ctx) => {
    const b = await body(ctx);
    const st = interactionOr404(ctx.params['id']!, ctx.params['token']!);
    if (Date.now() - st.createdAt > callbackDeadlineMs) throw err.unknownInteraction();
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
    const m = storeMessage(st.channelId, payload, atts, { type: 0, interactionId: st.id, flags });
    st.followUpIds.push(m.id);
    ctx.rec.messageId = m.id;
    notify(st);
    if (ctx.query.get('wait') === 'true') send(ctx, 200, renderMessage(m));
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
      const m = webhookMessage(st, midOf(ctx));
      const { payload, files } = checkBodyResult(b);
      applyEdit(m, payload, files);
      ctx.rec.messageId = m.id;
      notify(st);
      send(ctx, 200, renderMessage(m));
    });
    route('DELETE', p, { auth: false, major: 'token' }, (ctx) => {
      const st = webhookInteraction(ctx.params['app']!, ctx.params['token']!);
      const m = webhookMessage(st, midOf(ctx));
      deleteMessage(m);
      notify(st);
      send(ctx, 204);
    });
  }

  // CDN
  for (const prefix of ['/attachments', '/media/attachments']) {
    for (const method of ['GET', 'HEAD']) {
      route(method, `${prefix}/:channel/:attachment/:filename`, { auth: false, cdn: true }, (ctx) => {
        const a = attachments.get(ctx.params['attachment']!);
        const ex = ctx.query.get('ex') ?? '';
        const is = ctx.query.get('is') ?? '';
        const hm = ctx.query.get('hm') ?? '';
        const notAvailable = () => {
          ctx.finished = true;
          const text = 'This content is no longer available.';
          ctx.res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(text)) });
          ctx.res.end(method === 'HEAD' ? undefined : text);
          finishRecord(ctx, 404);
        };
        if (!a || a.channelId !== ctx.params['channel'] || a.filename !== ctx.params['filename']) return notAvailable();
        // Bytes dropped on receipt (retainAttachments): nothing to serve.
        if (a.data.length !== a.size) return notAvailable();
        const owner = messageOrder.find((m) => m.attachments.includes(a));
        if (!owner || owner.deleted) return notAvailable();
        const expected = hmac(signPath(a), ex, is);
        const expiry = issuedUrls.get(hm) ?? parseInt(ex, 16) * 1000;
        if (hm !== expected || !(Date.now() < expiry)) return notAvailable();
        let data = a.data;
        let status = 200;
        const headers: Record<string, string> = {
          'Content-Type': a.contentType,
          'Accept-Ranges': 'bytes',
          'Cache-Control': 'public, max-age=31536000',
        };
        const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.req.headers.range ?? '');
        if (range && (range[1] || range[2])) {
          let start = range[1] ? Number(range[1]) : a.size - Number(range[2]);
          let end = range[1] && range[2] ? Number(range[2]) : a.size - 1;
          start = Math.max(0, start);
          end = Math.min(end, a.size - 1);
          if (start > end) {
            ctx.finished = true;
            ctx.res.writeHead(416, { 'Content-Range': `bytes */${a.size}` });
            ctx.res.end();
            return finishRecord(ctx, 416);
          }
          data = a.data.subarray(start, end + 1);
          status = 206;
          headers['Content-Range'] = `bytes ${start}-${end}/${a.size}`;
        }
        ctx.finished = true;
        ctx.res.writeHead(status, { ...headers, 'Content-Length': String(data.length) });
        if (ctx.cutBodyAfter !== undefined && method === 'GET') {
          // Flushed first, so the client really gets these bytes before the close.
          ctx.res.write(data.subarray(0, ctx.cutBodyAfter), () => killSocket(ctx.req.socket, false));
          return finishRecord(ctx, status);
        }
        ctx.res.end(method === 'HEAD' ? undefined : data);
        finishRecord(ctx, status);
      });
    }
  }

  function findRoute(method: string, segs: string[], api: boolean): { route: RouteDef; params: Record<string, string> } | null {
    for (const r of routes) {
      if (r.method !== method || r.segs.length !== segs.length || Boolean(r.cdn) === api) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.segs[i]!;
        if (p.startsWith(':')) params[p.slice(1)] = segs[i]!;
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return { route: r, params };
    }
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    let p = parsed.pathname;
    let api = false;
    if (p.startsWith('/api/v10/') || p === '/api/v10') {
      api = true;
      p = p.slice('/api/v10'.length);
    } else if (p.startsWith('/api/')) {
      api = true;
      p = p.slice('/api'.length);
    }
    let segs: string[];
    try {
      segs = p
        .split('/')
        .filter(Boolean)
        .map((s) => decodeURIComponent(s));
    } catch {
      segs = p.split('/').filter(Boolean);
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const path = '/' + segs.join('/');
    const found = findRoute(method, segs, api);
    const rec: RecordedRequest = {
      method,
      route: found ? found.route.name : `${method} ${path}`,
      path,
      query: parsed.search,
      status: 0,
      time: started,
      bytes: 0,
      durationMs: 0,
    };
    pending.add(rec);
    const fallbackRoute: RouteDef = { method, segs, name: rec.route, auth: false, handler: () => {} };
    const ctx: Ctx = {
      req,
      res,
      route: found?.route ?? fallbackRoute,
      params: found?.params ?? {},
      query: parsed.searchParams,
      rec,
      bucket: null,
      dropResponse: false,
      dropReset: true,
      hangResponse: false,
      stallAnswer: false,
      finished: false,
    };
    res.on('close', () => {
      if (!ctx.finished) {
        ctx.finished = true;
        finishRecord(ctx, 0);
      }
    });
    try {
      if (!found) {
        rec.bytes = await drain(req);
        send(ctx, 404, api ? { message: '404: Not Found', code: 0 } : undefined);
        return;
      }
      if (found.route.auth && !authorized(req)) {
        rec.bytes = await drain(req);
        send(ctx, 401, { message: '401: Unauthorized', code: 0 });
        return;
      }
      ctx.bucket = bucketFor(found.route, found.params);
      // Faults
      const fault = matchFault(ctx);
      if (fault) {
        rec.fault = fault.kind;
        switch (fault.kind) {
          case 'status':
            rec.bytes = await drain(req);
            if (fault.afterMs) await sleep(fault.afterMs);
            await fault.hold?.();
            send(ctx, fault.status, fault.body ?? { message: http.STATUS_CODES[fault.status] ?? 'Error', code: 0 });
            return;
          case 'rateLimit': {
            rec.bytes = await drain(req);
            await fault.hold?.();
            const now = Date.now();
            const global = fault.global === true || fault.scope === 'global';
            if (global) globalBlockedUntil = now + fault.retryAfterMs;
            else if (ctx.bucket) ctx.bucket.blockedUntil = now + fault.retryAfterMs;
            send429(ctx, fault.retryAfterMs, global, fault.scope ?? (global ? 'global' : 'user'));
            return;
          }
          case 'delay':
            await sleep(fault.ms);
            break;
          case 'hang':
            hanging.add(res);
            res.on('close', () => hanging.delete(res));
            req.resume();
            ctx.finished = true;
            finishRecord(ctx, 0);
            return;
          case 'dropConnection':
            if (fault.hold) {
              // Lost after the whole body arrived, while Discord would be working on it.
              rec.bytes = await drain(req);
              await fault.hold();
            }
            await new Promise<void>((resolve) => {
              if (req.readableEnded) return resolve();
              req.once('data', () => resolve());
              req.once('end', () => resolve());
              setTimeout(resolve, 50);
            });
            ctx.finished = true;
            killSocket(req.socket, fault.reset !== false);
            finishRecord(ctx, 0);
            return;
          case 'storeThenHang':
            ctx.hangResponse = true;
            break;
          case 'storeThenStallAnswer':
            ctx.stallAnswer = true;
            break;
          case 'storeThenDrop':
            ctx.dropResponse = true;
            ctx.dropReset = fault.reset !== false;
            break;
          case 'closeGateway':
            gateway.closeAll(fault.code ?? 4000);
            break;
          case 'cutBody':
            ctx.cutBodyAfter = fault.bytes;
            break;
        }
      }
      // Rate limits
      if (!found.route.cdn) {
        const now = Date.now();
        if (now < globalBlockedUntil) {
          rec.bytes = await drain(req);
          send429(ctx, globalBlockedUntil - now, true, 'global');
          return;
        }
        const counted = countAtBody && found.route.name === 'POST /channels/:id/messages';
        const wait = ctx.bucket && !counted ? ctx.bucket.take(now) : 0;
        if (wait > 0) {
          rec.bytes = await drain(req);
          send429(ctx, wait, false, 'user');
          return;
        }
      }
      await found.route.handler(ctx);
      if (!ctx.finished) send(ctx, 204);
    } catch (e) {
      if (e instanceof AbortedRequest) return;
      if (e instanceof HttpError) {
        if (!(req.readableEnded || req.complete)) rec.bytes += await drain(req);
        send(ctx, e.status, e.body);
        return;
      }
      console.error('[fake-discord] handler error', e);
      if (!ctx.finished && !res.headersSent) send(ctx, 500, { message: '500: Internal Server Error', code: 0 });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Server

  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // The network model (bench --network): every connection, the gateway's included, passes the link.
  let proxy: LinkProxy | null = null;
  if (options.link) {
    const { uploadBytesPerSecond, rttMs } = options.link;
    proxy = await startLinkProxy(port, { bytesPerSecond: uploadBytesPerSecond, rttMs });
  }
  const publicPort = proxy?.port ?? port;
  url = `http://127.0.0.1:${publicPort}`;
  gatewayUrl = `ws://127.0.0.1:${publicPort}`;

  // -------------------------------------------------------------------------------------------
  // Public object

  function makeHandle(st: InteractionState): InteractionHandle {
    const h: InteractionHandle = {
      id: st.id,
      token: st.token,
      callback: () => st.callback,
      original: () => {
        const m = st.originalId ? messages.get(st.originalId) : undefined;
        if (!m || m.deleted) return undefined;
        const v: InteractionView = { content: m.content, flags: m.flags, embeds: m.embeds, components: m.components };
        if (m.attachments.length) v.attachments = m.attachments.map((a) => renderAttachment(a));
        return v;
      },
      followUps: () =>
        st.followUpIds
          .map((id) => messages.get(id)!)
          .filter((m) => !m.deleted)
          .map(renderMessage),
      ephemeral: () => {
        const m = st.originalId ? messages.get(st.originalId) : undefined;
        if (m) return (m.flags & 64) !== 0;
        return (Number(st.callback?.data?.flags ?? 0) & 64) !== 0;
      },
      waitFor: (pred, timeoutMs = 5000) =>
        new Promise<void>((resolve, reject) => {
          // Set once, below: `cleanup` (defined first) clears it.
          // eslint-disable-next-line prefer-const
          let timer: NodeJS.Timeout | undefined;
          const cleanup = () => {
            if (timer) clearTimeout(timer);
            st.listeners.delete(check);
          };
          function check(): void {
            try {
              if (pred(h)) {
                cleanup();
                resolve();
              }
            } catch (e) {
              cleanup();
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          }
          timer = setTimeout(() => {
            cleanup();
            const seen = {
              callback: st.callback ?? null,
              original: h.original() ?? null,
              followUps: h.followUps().map((m: any) => ({ content: m.content, flags: m.flags, attachments: m.attachments.length })),
            };
            reject(
              new Error(`fake-discord: interaction /${st.name} (${st.id}) condition not met within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`),
            );
          }, timeoutMs);
          st.listeners.add(check);
          check();
        }),
      waitForResponse: async (timeoutMs = 5000) => {
        try {
          await h.waitFor((x) => x.callback() !== undefined, timeoutMs);
        } catch {
          throw new Error(`fake-discord: the bot sent no callback for interaction /${st.name} (${st.id}) within ${timeoutMs} ms`);
        }
        return st.callback!;
      },
    };
    return h;
  }

  const fake: FakeDiscord = {
    url,
    apiUrl: `${url}/api`,
    gatewayUrl,
    token,
    applicationId,
    guildId,
    botUserId,
    guildOwnerId,
    channels,
    guilds: guilds.map((g) => ({ id: g.id, channels: g.channels })),
    shards: shardCount,
    defaultUser,
    schemaValidation: validateCreate !== null,
    requests,
    pendingRequests: () => [...pending],
    async sendInteraction(i: InteractionInput): Promise<InteractionHandle> {
      if (stopped) throw new Error('fake-discord: stopped');
      const asked = i.guildId === undefined ? undefined : guildById.get(i.guildId);
      if (i.guildId !== undefined && !asked) throw new Error(`fake-discord: unknown guild ${i.guildId}`);
      const channelId = i.channelId ?? (asked ?? guilds[0]!).channels[0]!.id;
      const channel = channelById.get(channelId);
      if (!channel) throw new Error(`fake-discord: unknown channel ${channelId}`);
      const guild = guildOf(channelId);
      if (asked && asked !== guild) throw new Error(`fake-discord: channel ${channelId} is not in guild ${asked.id}`);
      const gid = guild.id;
      const user = {
        id: i.user?.id ?? defaultUser.id,
        username: i.user?.username ?? (i.user ? `user-${i.user.id.slice(-4)}` : defaultUser.username),
      };
      const type = i.type ?? 2;
      const id = snowflake();
      const tok = `aW50ZXJhY3Rpb246${id}:${randomBytes(24).toString('base64url')}`;
      const roleIds = i.roles ?? [];
      const base = i.permissions === undefined ? basePermissions(guild, roleIds) : BigInt(i.permissions);
      const permissions = permissionsIn(guild, channel, base, user.id, roleIds).toString();
      const options = (i.options ?? []).map((o) => ({ ...o }));
      let resolved = i.resolved;
      if (resolved === undefined) {
        const chans: Record<string, unknown> = {};
        for (const o of options) {
          const c = o.type === 7 ? channelById.get(String(o.value)) : undefined;
          // As Discord: a partial channel with the invoking member's computed permissions there.
          if (c)
            chans[c.id] = {
              id: c.id,
              name: c.name,
              type: 0,
              permissions: permissionsIn(guildOf(c.id), c, base, user.id, roleIds).toString(),
              parent_id: null,
              flags: 0,
              guild_id: guildOf(c.id).id,
              nsfw: false,
              position: guildOf(c.id).channels.indexOf(c),
              rate_limit_per_user: 0,
              topic: null,
              last_message_id: null,
            };
        }
        if (Object.keys(chans).length) resolved = { channels: chans };
      }
      const st: InteractionState = {
        id,
        token: tok,
        type,
        name: i.name,
        channelId,
        user,
        createdAt: Date.now(),
        followUpIds: [],
        listeners: new Set(),
      };
      interactions.set(id, st);
      interactionsByToken.set(tok, st);
      const cmd = [...(guildCommands.get(gid) ?? []), ...globalCommands].find((c) => c['name'] === i.name);
      const payload = {
        id,
        application_id: applicationId,
        type,
        token: tok,
        version: 1,
        data: {
          id: (cmd?.['id'] as string | undefined) ?? snowflake(),
          type: 1,
          name: i.name,
          options,
          guild_id: gid,
          ...(resolved !== undefined ? { resolved } : {}),
        },
        guild_id: gid,
        guild: { id: gid, locale: 'en-US', features: [] },
        channel: { ...channelObject(guild, channel), permissions },
        channel_id: channelId,
        member: {
          user: userObject(user),
          roles: roleIds,
          permissions,
          joined_at: startedAt,
          premium_since: null,
          deaf: false,
          mute: false,
          pending: false,
          nick: null,
          avatar: null,
          flags: 0,
          communication_disabled_until: null,
        },
        app_permissions: i.appPermissions === undefined ? BOT_PERMISSIONS : String(i.appPermissions),
        locale: 'en-US',
        guild_locale: 'en-US',
        entitlements: [],
        entitlement_sku_ids: [],
        authorizing_integration_owners: { '0': gid },
        attachment_size_limit: i.attachmentSizeLimit ?? attachmentSizeLimit,
        context: 0,
      };
      // As Discord: only to the session of the guild's shard.
      const n = gateway.dispatch('INTERACTION_CREATE', payload, undefined, gid);
      if (n === 0)
        throw new Error(
          `fake-discord: no identified gateway session for guild ${gid} to send the interaction to (is the client, or that guild's shard, logged in?)`,
        );
      return makeHandle(st);
    },
    messages(channelId?: string): FakeMessage[] {
      return messageOrder.filter((m) => !m.deleted && (m.flags & 64) === 0 && (channelId === undefined || m.channel_id === channelId)).map(toFake);
    },
    allMessagesEver(): FakeMessage[] {
      return messageOrder.map(toFake);
    },
    attachmentBytes(attachmentId: string): Buffer {
      const a = attachments.get(attachmentId);
      if (!a) throw new Error(`fake-discord: unknown attachment ${attachmentId}`);
      if (a.data.length !== a.size)
        throw new Error(`fake-discord: the bytes of attachment ${attachmentId} were not kept (retainAttachments); use attachmentDigest`);
      return a.data;
    },
    attachmentDigest(attachmentId: string): { size: number; sha256: string } {
      const a = attachments.get(attachmentId);
      if (!a) throw new Error(`fake-discord: unknown attachment ${attachmentId}`);
      a.sha256 ??= createHash('sha256').update(a.data).digest('hex');
      return { size: a.size, sha256: a.sha256 };
    },
    corruptAttachment(attachmentId: string, at = 0): void {
      const a = attachments.get(attachmentId);
      if (!a || a.data.length !== a.size) throw new Error(`fake-discord: no kept bytes for attachment ${attachmentId}`);
      // A copy: a received Buffer may share memory with others.
      a.data = Buffer.from(a.data);
      a.data[at] = (a.data[at]! + 1) % 256;
    },
    commands(gid?: string): unknown[] {
      return gid === undefined ? [...globalCommands] : [...(guildCommands.get(gid) ?? [])];
    },
    gatewayOps: () => [...gateway.log],
    gatewayConnections: () => gateway.openConnections(),
    gatewaySessions: () => gateway.sessionList(),
    faults: {
      add(f: Fault) {
        faultEntries.push({ fault: f, seen: 0, applied: 0 });
      },
      clear() {
        faultEntries.length = 0;
      },
      pending: () => faultEntries.map((e) => e.fault),
    },
    closeGateway(code = 4000) {
      gateway.closeAll(code);
    },
    reconnectRequest() {
      gateway.reconnect();
    },
    freezeGateway() {
      gateway.freeze();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const res of hanging) res.socket?.destroy();
      hanging.clear();
      await gateway.stop();
      await proxy?.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return fake;
}

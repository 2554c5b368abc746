/** Public types of the fake Discord test server. */

export interface FakeDiscordOptions {
  /** Accepted bot token; default 'fake-token-' + random. REST auth header must be `Bot <token>`, else 401. */
  token?: string;
  /** Application (and bot user) id, a snowflake string. */
  applicationId?: string;
  guildId?: string;
  /** Text channels (type 0) in the one guild; default one channel named 'general'. */
  channels?: { id: string; name: string }[];
  /** HELLO heartbeat_interval; default 41250. */
  heartbeatIntervalMs?: number;
  /** Per attachment; default 10 MiB (10485760). */
  attachmentSizeLimit?: number;
  /** Whole request body; default 25 MiB (26214400). */
  maxRequestBytes?: number;
  /** Per-channel message-create bucket; default false (then a lenient 50 per second bucket applies). */
  channelRateLimit?: { limit: number; windowMs: number } | false;
  /** Attachment URL expiry (`ex`); default 24 h. */
  cdnUrlTtlMs?: number;
  /** Port on 127.0.0.1; default 0 (random). */
  port?: number;
  /** Interaction callbacks later than this after INTERACTION_CREATE get 404 Unknown interaction (10062), as Discord's 3 s deadline; default 3000. */
  interactionCallbackDeadlineMs?: number;
  /** Discord OpenAPI file used to validate message-create bodies; default env DISCORD_OPENAPI_PATH or ../shared/reference/discord-openapi.json beside the project root. Validation is skipped (with a warning) when the file is missing, or when false. */
  openApiPath?: string | false;
  /** How long a message nonce with enforce_nonce is remembered per channel; default 5 minutes. */
  nonceTtlMs?: number;
  /**
   * Keep attachment bytes in memory (default true). false: each attachment is hashed as it
   * arrives (sha256 and size kept, bytes dropped) so GiB-scale runs fit; a number: keep the
   * bytes of attachments up to that many bytes (e.g. manifests), hash and drop the rest.
   * Dropped bytes: `attachmentBytes` throws, the CDN serves nothing; `attachmentDigest` works.
   */
  retainAttachments?: boolean | number;
}

export interface RecordedRequest {
  method: string;
  /** Route template, e.g. 'POST /channels/:id/messages'; unknown routes: `${method} ${path}`. */
  route: string;
  /** Decoded path without the /api/v10 prefix, e.g. '/channels/123/messages'. */
  path: string;
  /** Query string including '?', or ''. */
  query: string;
  /** HTTP status answered; 0 when no answer was sent (hang, dropped connection, storeThenDrop, client aborted). */
  status: number;
  /** Start time (Date.now()). */
  time: number;
  /** Request body bytes received. */
  bytes: number;
  durationMs: number;
  /** Kind of fault applied to this request, if any. */
  fault?: Fault['kind'];
  /** Discord JSON error code of the answer, if any. */
  code?: number;
  /** Id of the message created / edited by this request, if any. */
  messageId?: string;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  content: string;
  nonce?: string;
  author: { id: string };
  attachments: FakeAttachment[];
  edited_timestamp: string | null;
  timestamp: string;
  deleted: boolean;
  edits: number;
  flags: number;
  embeds: unknown[];
  /** Set for interaction responses (original and follow-ups). */
  interactionId?: string;
}

export interface InteractionInput {
  /** 2 = APPLICATION_COMMAND (chat input, default), 4 = APPLICATION_COMMAND_AUTOCOMPLETE. */
  type?: 2 | 4;
  name: string;
  options?: { name: string; type: number; value: string | number | boolean; focused?: boolean }[];
  /** Default: first channel. */
  channelId?: string;
  /** Default: fake.defaultUser. */
  user?: { id: string; username?: string };
  roles?: string[];
  /** Member permissions bitfield; default a normal member (View Channel, Send Messages, Embed Links, Attach Files, Read History, Use Application Commands). */
  permissions?: string | bigint;
  /** Default: options.attachmentSizeLimit. */
  attachmentSizeLimit?: number;
  /** The bot's permissions in the channel (`app_permissions`); default the bot role's. */
  appPermissions?: string | bigint;
  /** data.resolved; built automatically for channel options (type 7) naming known channels when absent. */
  resolved?: unknown;
}

export interface InteractionView {
  content?: string;
  flags?: number;
  embeds?: unknown[];
  attachments?: FakeAttachment[];
  components?: unknown[];
}

export interface InteractionHandle {
  id: string;
  token: string;
  /** Resolves with the callback body ({type, data}); rejects after timeoutMs (default 5000). */
  waitForResponse(timeoutMs?: number): Promise<{ type: number; data?: any }>;
  /** The original response message after the callback and @original edits; undefined before any message-producing callback. */
  original(): InteractionView | undefined;
  /** Follow-up messages (Discord-shaped message objects), live ones only. */
  followUps(): any[];
  /** Waits until pred holds (checked on every change), rejects after timeoutMs (default 5000) describing what it saw. */
  waitFor(pred: (h: InteractionHandle) => boolean, timeoutMs?: number): Promise<void>;
  /** flags & 64 on the callback data / original message. */
  ephemeral(): boolean;
  /** The raw callback body, if any (also for autocomplete: {type: 8, data: {choices}}). */
  callback(): { type: number; data?: any } | undefined;
}

export interface FaultController {
  add(f: Fault): void;
  clear(): void;
  /** Faults not yet used up. */
  pending(): Fault[];
}

export type FaultRoute = string | ((req: { method: string; route: string; path: string }) => boolean);

export type Fault = { route: FaultRoute; times?: number; after?: number } & (
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'rateLimit'; retryAfterMs: number; global?: boolean; scope?: 'user' | 'shared' | 'global' }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  /** Destroy the socket after reading some of the body. reset (default true): TCP RST, the client sees ECONNRESET
   *  (discord.js retries that itself); false: plain close, undici's 'other side closed' (discord.js does not retry). */
  | { kind: 'dropConnection'; reset?: boolean }
  /** Handle the request (store the message) but destroy the socket instead of answering; reset as for dropConnection. */
  | { kind: 'storeThenDrop'; reset?: boolean }
  /** Handle the request (store the message) but never answer (until the client gives up or stop()). */
  | { kind: 'storeThenHang' }
  | { kind: 'closeGateway'; code?: number }
  /** CDN GET only: send the headers (the full Content-Length) and the first `bytes` of the body, then close the connection. */
  | { kind: 'cutBody'; bytes: number }
);

export interface GatewayOpRecord {
  op: number;
  /** For dispatches sent (direction 'out'), the event name. */
  t?: string;
  direction: 'in' | 'out';
  sessionId?: string;
  time: number;
}

export interface FakeDiscord {
  url: string;
  apiUrl: string;
  gatewayUrl: string;
  token: string;
  applicationId: string;
  guildId: string;
  botUserId: string;
  channels: { id: string; name: string }[];
  /** The member used by sendInteraction when no user is given. */
  defaultUser: { id: string; username: string };
  /** Whether message-create bodies are validated against the OpenAPI schema. */
  schemaValidation: boolean;
  sendInteraction(i: InteractionInput): Promise<InteractionHandle>;
  requests: RecordedRequest[];
  messages(channelId?: string): FakeMessage[];
  allMessagesEver(): FakeMessage[];
  attachmentBytes(attachmentId: string): Buffer;
  /** Size and sha256 of an attachment, whether or not its bytes were kept. */
  attachmentDigest(attachmentId: string): { size: number; sha256: string };
  commands(guildId?: string): unknown[];
  /** Gateway opcodes received ('in') and sent ('out'). */
  gatewayOps(): GatewayOpRecord[];
  /** Number of currently open gateway sockets. */
  gatewayConnections(): number;
  faults: FaultController;
  closeGateway(code?: number): void;
  reconnectRequest(): void;
  stop(): Promise<void>;
}

/** A Fault without (or with an optional) route: `Omit<Fault, 'route'>` is not distributive over the union and loses the kind-specific fields; use this. */
export type FaultSpec = Fault extends infer F ? (F extends Fault ? Omit<F, 'route'> & { route?: FaultRoute } : never) : never;

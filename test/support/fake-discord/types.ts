/** Public types of the fake Discord test server. */

export interface FakeDiscordOptions {
  /** Accepted bot token; default 'fake-token-' + random. REST auth header must be `Bot <token>`, else 401. */
  token?: string;
  /** Application (and bot user) id, a snowflake string. */
  applicationId?: string;
  guildId?: string;
  /**
   * Text channels (type 0) in the one guild; default one channel named 'general'.
   * `permissionOverwrites` go out in GUILD_CREATE as Discord sends them, and decide the
   * member's computed `permissions` in interactions (see InteractionInput.permissions).
   */
  channels?: FakeChannel[];
  /** Roles besides @everyone (View Channel, Send Messages, Attach Files, …) and the bot's own, sent in GUILD_CREATE. */
  roles?: FakeRole[];
  /**
   * What the bot's own role grants guild-wide, on top of @everyone's; default Manage Messages (no
   * Manage Threads, so deleting a thread is refused as Discord refuses it without that permission).
   * The bot's permissions in a channel (or a thread: its parent's) are this after the channel's
   * overwrites, for the bot's role or its user id (`applicationId`): they decide what the fake
   * lets the bot do there and each interaction's default `app_permissions`.
   */
  botPermissions?: bigint;
  /**
   * Guilds the bot is in; default 1. The first is `guildId` with `channels` and `roles`; each
   * further one has a channel 'general' of its own and an id that puts guild i on shard
   * (shard of the first + i) % `shards`, so the guilds spread over the shards.
   */
  guildCount?: number;
  /** The shard count GET /gateway/bot recommends (`shards`); default 1. */
  shards?: number;
  /**
   * Sharding is required, as Discord requires it from 2,500 guilds: an IDENTIFY without `shard`,
   * or with fewer shards than `shards`, is closed with 4011; default false (any count is served).
   */
  requireSharding?: boolean;
  /** GET /gateway/bot's `session_start_limit.max_concurrency`: shards that may IDENTIFY at once; default 1. */
  maxConcurrency?: number;
  /** Close every gateway IDENTIFY with this code instead of READY, as Discord does with 4004 (token reset) or 4014 (privileged intent not enabled); default: none. */
  identifyCloseCode?: number;
  /** HELLO heartbeat_interval; default 41250. */
  heartbeatIntervalMs?: number;
  /** Per attachment; default 10 MiB (10485760). */
  attachmentSizeLimit?: number;
  /** Whole request body; default 25 MiB (26214400). */
  maxRequestBytes?: number;
  /**
   * Per-channel message-create bucket; default false (then a lenient 50 per second bucket applies).
   * `countAt`: when a create counts, `request` (as it starts; default) or `body` (once its whole
   * body is in, as the network model has it); those 429s carry `Retry-After` in whole seconds,
   * rounded up, as Discord's do.
   */
  channelRateLimit?: { limit: number; windowMs: number; countAt?: 'request' | 'body' } | false;
  /** Discord's time to create a message once its body is in, before it answers (`POST /channels/:id/messages`); default 0. */
  processingMs?: number;
  /**
   * The path to the fake (network/link-proxy.ts): every connection passes an uplink of
   * `uploadBytesPerSecond` (shared by all of them; Infinity for no cap) and `rttMs` of added
   * round trip (half each way, two more before a new connection's first byte); default none.
   */
  link?: { uploadBytesPerSecond: number; rttMs: number };
  /** Attachment URL expiry (`ex`); default 24 h. */
  cdnUrlTtlMs?: number;
  /** Port on 127.0.0.1; default 0 (random). */
  port?: number;
  /** Interaction callbacks later than this after INTERACTION_CREATE get 404 Unknown interaction (10062), as Discord's 3 s deadline; default 3000. */
  interactionCallbackDeadlineMs?: number;
  /** Discord OpenAPI file used to validate message-create bodies; default env DISCORD_OPENAPI_PATH or the copy vendored in openapi/discord-openapi.json beside this file. Validation is skipped (with a warning) when the file is missing, or when false. */
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

export interface FakeGuild {
  id: string;
  channels: FakeChannel[];
}

export interface GatewaySessionInfo {
  id: string;
  /** `[id, count]` as IDENTIFY sent it; undefined for an unsharded session. */
  shard: [number, number] | undefined;
  /** Whether a connection holds the session now (false between a drop and its RESUME). */
  connected: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  /** 0 text (default), 5 announcement (its threads are type 10), 15 forum (threads are its posts; no messages of its own). */
  type?: 0 | 5 | 15;
  permissionOverwrites?: FakeOverwrite[];
}

/** A thread as the fake holds it (`fake.threads()`), deleted ones included. */
export interface FakeThread {
  id: string;
  /** The channel it was started in (a forum for a post). */
  parentId: string;
  guildId: string;
  /** 10 announcement thread, 11 public, 12 private. */
  type: 10 | 11 | 12;
  name: string;
  ownerId: string;
  archived: boolean;
  locked: boolean;
  deleted: boolean;
  autoArchiveDuration: number;
  /** Messages posted in it and not deleted (a forum post's first message included). */
  messageCount: number;
}

/** What a moderator does to a thread (`fake.moderateThread`): Discord's THREAD_UPDATE or THREAD_DELETE follows. */
export type ModeratorAction = { archived?: boolean; locked?: boolean } | 'delete';

/** A channel permission overwrite: `id` is a role id (the guild id for @everyone) or a member's user id. */
interface FakeOverwrite {
  id: string;
  type: 'role' | 'member';
  allow?: bigint;
  deny?: bigint;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
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
  /** When the whole body had arrived (Date.now()), for routes that read one. */
  bodyAt?: number;
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
  /** Message components as sent (action rows of buttons, …); `[]` when none. */
  components: unknown[];
  /** Set for interaction responses (original and follow-ups). */
  interactionId?: string;
}

export interface InteractionInput {
  /** 2 = APPLICATION_COMMAND (chat input, default), 4 = APPLICATION_COMMAND_AUTOCOMPLETE. */
  type?: 2 | 4;
  name: string;
  options?: { name: string; type: number; value: string | number | boolean; focused?: boolean }[];
  /** Default: the first channel of `guildId`, or of the first guild; a thread's id makes it come from that thread. */
  channelId?: string;
  /** The guild it comes from; default the guild of `channelId`, else the first. Sent only to that guild's shard. */
  guildId?: string;
  /** Default: fake.defaultUser. */
  user?: { id: string; username?: string };
  /** Role ids of the member (in `member.roles`); their guild roles add to the default permissions. */
  roles?: string[];
  /**
   * What the member's roles grant guild-wide; default @everyone's (View Channel, Send Messages,
   * Embed Links, Attach Files, Read History, Use Application Commands) plus `roles`'. As on
   * Discord, `member.permissions`, `channel.permissions` and each resolved channel's
   * `permissions` are this after the channel's overwrites (unless it holds Administrator).
   */
  permissions?: string | bigint;
  /** Default: options.attachmentSizeLimit. */
  attachmentSizeLimit?: number;
  /** The bot's permissions in the channel (`app_permissions`); default as Discord computes them (option `botPermissions`, after the channel's overwrites). */
  appPermissions?: string | bigint;
  /** data.resolved; built automatically for channel options (type 7) naming known channels, forums or threads when absent. */
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

interface FaultController {
  add(f: Fault): void;
  clear(): void;
  /** Faults not yet used up. */
  pending(): Fault[];
}

type FaultRoute = string | ((req: { method: string; route: string; path: string }) => boolean);

export type Fault = {
  route: FaultRoute;
  times?: number;
  after?: number;
  /**
   * `status`, `rateLimit` and `dropConnection` only: read the whole body first, then answer (or
   * drop the connection) only once this resolves, so a test decides when the fault lands (say,
   * once the next message's request has started) instead of hoping for the timing.
   */
  hold?: () => Promise<void>;
} & (
  | {
      kind: 'status';
      status: number;
      body?: unknown;
      /** Answer this long after the whole body is in, as a failure in Discord's processing would. */
      afterMs?: number;
    }
  | { kind: 'rateLimit'; retryAfterMs: number; global?: boolean; scope?: 'user' | 'shared' | 'global' }
  | { kind: 'delay'; ms: number }
  /**
   * Wait until `until` settles, then handle the request as usual: the test decides when Discord answers, not a clock.
   * Its body waits unread meanwhile; with `afterBody`, the whole body is read first and the hold is Discord's
   * processing: once released the route runs (the message is created) even if the client went away meanwhile.
   */
  | { kind: 'hold'; until: Promise<unknown>; afterBody?: boolean }
  | { kind: 'hang' }
  /** Destroy the socket after reading some of the body. reset (default true): TCP RST, the client sees ECONNRESET
   *  (discord.js retries that itself); false: plain close, undici's 'other side closed' (discord.js does not retry). */
  | { kind: 'dropConnection'; reset?: boolean }
  /** Handle the request (store the message) but destroy the socket instead of answering; reset as for dropConnection. */
  | { kind: 'storeThenDrop'; reset?: boolean }
  /** Handle the request (store the message) but never answer (until the client gives up or stop()). */
  | { kind: 'storeThenHang' }
  /** Handle the request (store the message), send the answer's headers and half its body, then nothing more (until the client gives up or stop()). */
  | { kind: 'storeThenStallAnswer' }
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
  /** The guild's owner: neither the default member nor the bot (Discord gives an owner every permission). */
  guildOwnerId: string;
  channels: FakeChannel[];
  /** Every guild, the first being `guildId` with `channels`. */
  guilds: FakeGuild[];
  /** The shard count GET /gateway/bot recommends. */
  shards: number;
  /** The member used by sendInteraction when no user is given. */
  defaultUser: { id: string; username: string };
  /** Whether message-create bodies are validated against the OpenAPI schema. */
  schemaValidation: boolean;
  sendInteraction(i: InteractionInput): Promise<InteractionHandle>;
  requests: RecordedRequest[];
  /** Requests not answered or settled yet, oldest first (`bodyAt` tells those whose body is in). */
  pendingRequests(): RecordedRequest[];
  /** Live messages, oldest first; of one channel or thread (a thread's id is its channel id). */
  messages(channelId?: string): FakeMessage[];
  /** Every thread made, oldest first, of one parent channel when given; deleted ones stay (`deleted: true`). */
  threads(parentId?: string): FakeThread[];
  /**
   * A moderator archives, locks, unarchives or deletes a thread (deleted: its messages go with it,
   * and every request to it answers 404 Unknown Channel), with the gateway event Discord sends.
   */
  moderateThread(threadId: string, action: ModeratorAction): void;
  allMessagesEver(): FakeMessage[];
  attachmentBytes(attachmentId: string): Buffer;
  /** Size and sha256 of an attachment, whether or not its bytes were kept. */
  attachmentDigest(attachmentId: string): { size: number; sha256: string };
  /** Changes one stored byte of an attachment (at `at`, default 0), as a disk or CDN fault would: its recorded sha256 stays. */
  corruptAttachment(attachmentId: string, at?: number): void;
  commands(guildId?: string): unknown[];
  /** Gateway opcodes received ('in') and sent ('out'). */
  gatewayOps(): GatewayOpRecord[];
  /** Number of currently open gateway sockets. */
  gatewayConnections(): number;
  /** The identified gateway sessions, with the shard each asked for. */
  gatewaySessions(): GatewaySessionInfo[];
  faults: FaultController;
  /** Closes every gateway connection with `code` (default 4000); a code after which Discord allows no RESUME (4004, 4007, 4009, 4010-4014) also ends the sessions. */
  closeGateway(code?: number): void;
  reconnectRequest(): void;
  /** The gateway stops reading its open connections (a black-holed network): heartbeats and close frames go unanswered until the client gives up. */
  freezeGateway(): void;
  stop(): Promise<void>;
}

/** A Fault without (or with an optional) route: `Omit<Fault, 'route'>` is not distributive over the union and loses the kind-specific fields; use this. */
export type FaultSpec = Fault extends infer F ? (F extends Fault ? Omit<F, 'route'> & { route?: FaultRoute } : never) : never;

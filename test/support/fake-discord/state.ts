/**
 * What one fake Discord holds: its settings (from `FakeDiscordOptions`, defaults written here),
 * its guilds, the messages, attachments, interactions and commands it stores, what it records
 * of requests, and its gateway. Every other part of the fake reads and changes this one object.
 */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { FakeGateway } from './gateway.js';
import { guildShapes, makeGuilds, type GuildState } from './guilds.js';
import { messageCreateValidator, messageEditValidator, requestValidator, resolveOpenApiPath } from './schema.js';
import type { Bucket } from './bucket.js';
import { snowflake, shardOfGuild } from './util.js';
import type { Fault, FakeDiscordOptions, RecordedRequest } from './types.js';

export interface StoredAttachment {
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

export interface StoredMessage {
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

/** A thread: a channel of its own (messages, rate-limit bucket) under a text, announcement or forum channel. */
export interface ThreadState {
  /** Also its channel id; a thread started from a message has that message's id. */
  id: string;
  guildId: string;
  parentId: string;
  type: 10 | 11 | 12;
  name: string;
  ownerId: string;
  archived: boolean;
  locked: boolean;
  autoArchiveDuration: number;
  archiveTimestamp: string | null;
  createTimestamp: string;
  deleted: boolean;
  /** Its live messages (`message_count`), and every one ever sent (`total_message_sent`). */
  messageCount: number;
  totalMessageSent: number;
  lastMessageId: string | null;
}

export interface InteractionState {
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

export type FakeState = ReturnType<typeof createState>;

/** The settings, defaults written once. */
function settingsOf(options: FakeDiscordOptions) {
  const channelRateLimit = options.channelRateLimit ?? false;
  const retainAttachments = options.retainAttachments ?? true;
  const openApiPath = resolveOpenApiPath(options.openApiPath);
  return {
    token: options.token ?? `fake-token-${randomBytes(12).toString('hex')}`,
    shardCount: options.shards ?? 1,
    maxConcurrency: options.maxConcurrency ?? 1,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41250,
    attachmentSizeLimit: options.attachmentSizeLimit ?? 10 * 1024 * 1024,
    maxRequestBytes: options.maxRequestBytes ?? 25 * 1024 * 1024,
    channelRateLimit,
    // Message creates counted once their body is in (network model), not when they start.
    countAtBody: channelRateLimit !== false && channelRateLimit.countAt === 'body',
    processingMs: options.processingMs ?? 0,
    cdnUrlTtlMs: options.cdnUrlTtlMs ?? 24 * 60 * 60 * 1000,
    callbackDeadlineMs: options.interactionCallbackDeadlineMs ?? 3000,
    nonceTtlMs: options.nonceTtlMs ?? 5 * 60 * 1000,
    retainFileBytes: retainAttachments === true ? Number.POSITIVE_INFINITY : retainAttachments === false ? -1 : retainAttachments,
    validateCreate: openApiPath ? messageCreateValidator(openApiPath) : null,
    // The thread routes' bodies, checked as message creates are (the OpenAPI description's own schemas).
    validateThread: {
      fromMessage: openApiPath ? requestValidator(openApiPath, '/channels/{channel_id}/messages/{message_id}/threads', 'post') : null,
      withoutMessage: openApiPath ? requestValidator(openApiPath, '/channels/{channel_id}/threads', 'post') : null,
      update: openApiPath ? requestValidator(openApiPath, '/channels/{channel_id}', 'patch') : null,
    },
    validateEdit: openApiPath ? messageEditValidator(openApiPath) : null,
    cdnSecret: randomBytes(32),
  };
}

export function createState(options: FakeDiscordOptions) {
  const settings = settingsOf(options);
  const applicationId = options.applicationId ?? snowflake();
  const botUserId = applicationId;
  const guilds = makeGuilds({
    guildId: options.guildId,
    channels: options.channels,
    roles: options.roles,
    guildCount: options.guildCount,
    shards: settings.shardCount,
    botPermissions: options.botPermissions,
  });
  const defaultUser = { id: snowflake(), username: 'fake-member' };
  const guildOwnerId = snowflake();
  const startedAt = new Date().toISOString();
  const guildOfChannel = new Map(guilds.flatMap((g) => g.channels.map((c) => [c.id, g] as const)));
  const threads = new Map<string, ThreadState>();
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
  // Known once the server listens; the gateway reads them when a session starts.
  const addresses = { url: '', gatewayUrl: '' };
  // Set by server.ts once the renderers exist (they read this state).
  const rendering = { activeThreads: ((): unknown[] => []) as (guildId: string) => unknown[] };
  const shapes = guildShapes({ author: authorObject, botUserId, ownerId: guildOwnerId, startedAt });
  return {
    ...settings,
    applicationId,
    botUserId,
    guilds,
    guildOwnerId,
    startedAt,
    defaultUser,
    guildById: new Map(guilds.map((g) => [g.id, g])),
    channelById: new Map(guilds.flatMap((g) => g.channels.map((c) => [c.id, c] as const))),
    /** The guild a channel or thread (known to the fake) belongs to; the first guild for an unknown one. */
    guildOf: (channelId: string): GuildState =>
      guildOfChannel.get(channelId) ?? guildOfChannel.get(threads.get(channelId)?.parentId ?? '') ?? guilds[0]!,
    /** Every thread made, deleted ones included (`deleted`), by id. */
    threads,
    authorObject,
    shapes,
    addresses,
    gateway: makeGateway(options, settings, {
      applicationId,
      guilds,
      authorObject,
      addresses,
      // As Discord: a session's GUILD_CREATE lists the guild's active threads, so a restarted client knows them.
      guildCreate: (guild) => ({ ...shapes.guildCreate(guild), threads: rendering.activeThreads(guild.id) }),
    }),
    rendering,
    messages: new Map<string, StoredMessage>(),
    messageOrder: [] as StoredMessage[],
    attachments: new Map<string, StoredAttachment>(),
    nonces: new Map<string, { messageId: string; at: number }>(),
    interactions: new Map<string, InteractionState>(),
    interactionsByToken: new Map<string, InteractionState>(),
    globalCommands: [] as Record<string, unknown>[],
    guildCommands: new Map<string, Record<string, unknown>[]>(),
    buckets: new Map<string, Bucket>(),
    issuedUrls: new Map<string, number>(),
    requests: [] as RecordedRequest[],
    pending: new Set<RecordedRequest>(),
    faultEntries: [] as { fault: Fault; seen: number; applied: number }[],
    hanging: new Set<ServerResponse>(),
    /** Until when a global rate-limit fault blocks every route (ms since the epoch). */
    limits: { globalBlockedUntil: 0 },
    lifecycle: { stopped: false },
  };
}

function makeGateway(
  options: FakeDiscordOptions,
  settings: ReturnType<typeof settingsOf>,
  deps: {
    applicationId: string;
    guilds: GuildState[];
    authorObject: () => Record<string, unknown>;
    addresses: { gatewayUrl: string };
    guildCreate: (guild: GuildState) => Record<string, unknown>;
  },
): FakeGateway {
  const { applicationId, guilds, authorObject, addresses } = deps;
  /** The guilds a gateway session gets: all of them unsharded, else those of its shard. */
  const guildsOfShard = (shard: [number, number] | undefined) => (shard ? guilds.filter((g) => shardOfGuild(g.id, shard[1]) === shard[0]) : guilds);
  return new FakeGateway({
    token: settings.token,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    gatewayUrl: () => addresses.gatewayUrl,
    ready: ({ id, shard }) => ({
      v: 10,
      user: { ...authorObject(), verified: true, mfa_enabled: false, email: null },
      guilds: guildsOfShard(shard).map((g) => ({ id: g.id, unavailable: true })),
      session_id: id,
      resume_gateway_url: addresses.gatewayUrl,
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
    guildCreates: (shard) => guildsOfShard(shard).map(deps.guildCreate),
    identifyCloseCode: options.identifyCloseCode,
    requiredShards: options.requireSharding ? settings.shardCount : undefined,
  });
}

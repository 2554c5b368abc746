/**
 * The fake's guilds: what each is made of, how Discord shards them, and the shapes Discord
 * sends for them (GUILD_CREATE, channels, roles) and computes from them (permissions).
 */
import type { FakeChannel, FakeRole } from './types.js';
import { BOT_PERMISSIONS, MEMBER_PERMISSIONS, Permissions, shardOfGuild, snowflake, snowflakeOnShard } from './util.js';

export interface GuildState {
  /** Also the id of its @everyone role. */
  id: string;
  channels: FakeChannel[];
  /** Roles besides @everyone and the bot's (only the first guild has any: option `roles`). */
  roles: FakeRole[];
  botRoleId: string;
  /** What the bot's role grants guild-wide (option `botPermissions`). */
  botPermissions: bigint;
}

export interface GuildsOptions {
  guildId?: string | undefined;
  channels?: FakeChannel[] | undefined;
  roles?: FakeRole[] | undefined;
  guildCount?: number | undefined;
  shards?: number | undefined;
  botPermissions?: bigint | undefined;
}

/**
 * The first guild is `guildId` with `channels` and `roles`; guild i after it has one channel,
 * 'general', and an id on shard (shard of the first + i) % `shards`, so that the guilds spread
 * over the shards as they do on Discord.
 */
export function makeGuilds(options: GuildsOptions): GuildState[] {
  const count = options.guildCount ?? 1;
  const shards = options.shards ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`fake-discord: guildCount must be a whole number from 1, not ${count}`);
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`fake-discord: shards must be a whole number from 1, not ${shards}`);
  const firstId = options.guildId ?? snowflake();
  const botPermissions = options.botPermissions ?? BigInt(BOT_PERMISSIONS);
  const first: GuildState = {
    id: firstId,
    channels: (options.channels ?? [{ id: snowflake(), name: 'general' }]).map((c) => ({ ...c })),
    roles: options.roles ?? [],
    botRoleId: snowflake(),
    botPermissions,
  };
  const guilds = [first];
  for (let i = 1; i < count; i++) {
    const id = snowflakeOnShard((shardOfGuild(firstId, shards) + i) % shards, shards);
    guilds.push({ id, channels: [{ id: snowflake(), name: 'general' }], roles: [], botRoleId: snowflake(), botPermissions });
  }
  return guilds;
}

export interface GuildShapes {
  channelObject: (guild: GuildState, c: FakeChannel) => Record<string, unknown>;
  guildObject: (guild: GuildState) => Record<string, unknown>;
  guildCreate: (guild: GuildState) => Record<string, unknown>;
  /** What a member's roles grant guild-wide: @everyone's plus each of theirs (Discord's base permissions). */
  basePermissions: (guild: GuildState, roleIds: readonly string[]) => bigint;
  /** Discord's computed permissions in a channel: base, then @everyone's, the roles' and the member's overwrites; Administrator ignores them. */
  permissionsIn: (guild: GuildState, channel: FakeChannel, base: bigint, userId: string, roleIds: readonly string[]) => bigint;
  /** The bot's computed permissions in a channel: @everyone's and its role's, after the overwrites. */
  botPermissionsIn: (guild: GuildState, channel: FakeChannel) => bigint;
}

export function guildShapes(deps: { author: () => Record<string, unknown>; botUserId: string; ownerId: string; startedAt: string }): GuildShapes {
  const { author, botUserId, ownerId, startedAt } = deps;

  // A forum's own fields, as discord.js's ForumChannel reads them.
  const forumFields = {
    available_tags: [],
    default_reaction_emoji: null,
    default_sort_order: null,
    default_forum_layout: 0,
    default_thread_rate_limit_per_user: 0,
  };
  const channelObject = (guild: GuildState, c: FakeChannel) => ({
    ...(c.type === 15 ? forumFields : {}),
    id: c.id,
    type: c.type ?? 0,
    guild_id: guild.id,
    name: c.name,
    position: guild.channels.indexOf(c),
    permission_overwrites: (c.permissionOverwrites ?? []).map((o) => ({
      id: o.id,
      type: o.type === 'role' ? 0 : 1,
      allow: String(o.allow ?? 0n),
      deny: String(o.deny ?? 0n),
    })),
    nsfw: false,
    parent_id: null,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: 0,
  });

  const role = (id: string, name: string, permissions: string, position: number, managed: boolean) => ({
    id,
    name,
    permissions,
    position,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    managed,
    mentionable: false,
    icon: null,
    unicode_emoji: null,
    flags: 0,
  });

  const roles = (guild: GuildState) => [
    role(guild.id, '@everyone', MEMBER_PERMISSIONS, 0, false),
    { ...role(guild.botRoleId, 'fake-splitter-bot', String(guild.botPermissions), 1, true), tags: { bot_id: botUserId } },
    ...guild.roles.map((r, i) => role(r.id, r.name, String(r.permissions), 2 + i, false)),
  ];

  const basePermissions = (guild: GuildState, roleIds: readonly string[]): bigint =>
    guild.roles.filter((r) => roleIds.includes(r.id)).reduce((acc, r) => acc | r.permissions, BigInt(MEMBER_PERMISSIONS));

  const permissionsIn = (guild: GuildState, channel: FakeChannel, base: bigint, userId: string, roleIds: readonly string[]): bigint => {
    if ((base & Permissions.Administrator) !== 0n) return base;
    const overwrites = channel.permissionOverwrites ?? [];
    const apply = (acc: bigint, list: typeof overwrites) => {
      const deny = list.reduce((d, o) => d | (o.deny ?? 0n), 0n);
      const allow = list.reduce((a, o) => a | (o.allow ?? 0n), 0n);
      return (acc & ~deny) | allow;
    };
    let p = apply(
      base,
      overwrites.filter((o) => o.type === 'role' && o.id === guild.id),
    );
    p = apply(
      p,
      overwrites.filter((o) => o.type === 'role' && o.id !== guild.id && roleIds.includes(o.id)),
    );
    return apply(
      p,
      overwrites.filter((o) => o.type === 'member' && o.id === userId),
    );
  };

  const guildObject = (guild: GuildState) => ({
    id: guild.id,
    name: 'Fake Guild',
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: roles(guild),
    emojis: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    max_members: 500000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    stickers: [],
    premium_progress_bar_enabled: false,
  });

  const guildCreate = (guild: GuildState) => ({
    ...guildObject(guild),
    joined_at: startedAt,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [
      {
        user: author(),
        roles: [guild.botRoleId],
        joined_at: startedAt,
        deaf: false,
        mute: false,
        flags: 0,
        nick: null,
        avatar: null,
        premium_since: null,
        pending: false,
      },
    ],
    channels: guild.channels.map((c) => channelObject(guild, c)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  });

  const botPermissionsIn = (guild: GuildState, channel: FakeChannel): bigint =>
    permissionsIn(guild, channel, BigInt(MEMBER_PERMISSIONS) | guild.botPermissions, botUserId, [guild.botRoleId]);

  return { channelObject, guildObject, guildCreate, basePermissions, permissionsIn, botPermissionsIn };
}

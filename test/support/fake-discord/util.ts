const DISCORD_EPOCH = 1420070400000n;
let last = 0n;

/** Strictly increasing, real-looking (19-digit today) Discord snowflake. */
export function snowflake(time: number = Date.now()): string {
  let v = ((BigInt(time) - DISCORD_EPOCH) << 22n) | (1n << 17n);
  if (v <= last) v = last + 1n;
  last = v;
  return v.toString();
}

/**
 * A fresh snowflake that Discord routes to `shard` of `shardCount` ((id >> 22) % count): its
 * timestamp is the first millisecond from now that falls there, fewer than `shardCount` ms ahead.
 */
export function snowflakeOnShard(shard: number, shardCount: number, time: number = Date.now()): string {
  // Past the last id handed out, so each millisecond tried gives an id of its own.
  const start = Math.max(time, Number((last >> 22n) + DISCORD_EPOCH) + 1);
  for (let t = start; t < start + shardCount; t++) {
    const id = snowflake(t);
    if (shardOfGuild(id, shardCount) === shard) return id;
  }
  throw new Error(`fake-discord: no snowflake on shard ${shard} of ${shardCount}`);
}

/** Discord's routing: a guild's events go to the gateway session of shard (guild_id >> 22) % shard_count. */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

export function cmpSnowflake(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const Permissions = {
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** @everyone's, as a new guild has them (threads included: Discord grants those to everyone by default). */
export const MEMBER_PERMISSIONS = (
  Permissions.ViewChannel |
  Permissions.SendMessages |
  Permissions.EmbedLinks |
  Permissions.AttachFiles |
  Permissions.ReadMessageHistory |
  Permissions.UseApplicationCommands |
  Permissions.CreatePublicThreads |
  Permissions.CreatePrivateThreads |
  Permissions.SendMessagesInThreads
).toString();

export const BOT_PERMISSIONS = (BigInt(MEMBER_PERMISSIONS) | Permissions.ManageMessages).toString();

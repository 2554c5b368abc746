/**
 * `npm run fake-discord`: run the fake Discord until SIGINT/SIGTERM. Env: FAKE_DISCORD_PORT,
 * FAKE_DISCORD_TOKEN; for sharding FAKE_DISCORD_SHARDS (the count /gateway/bot recommends,
 * and then required: fewer is closed with 4011), FAKE_DISCORD_GUILDS (default: one per shard)
 * and FAKE_DISCORD_MAX_CONCURRENCY (default 1).
 */
import { shardOfGuild, startFakeDiscord } from './index.js';
import type { FakeDiscordOptions } from './types.js';

const opts: FakeDiscordOptions = {};
const port = process.env['FAKE_DISCORD_PORT'];
if (port) opts.port = Number(port);
const token = process.env['FAKE_DISCORD_TOKEN'];
if (token) opts.token = token;
const whole = (name: string): number | undefined => {
  const text = process.env[name];
  if (!text) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    console.error(`${name} must be a whole number from 1, not ${JSON.stringify(text)}`);
    process.exit(1);
  }
  return Number(text);
};
const shards = whole('FAKE_DISCORD_SHARDS');
if (shards !== undefined) {
  opts.shards = shards;
  opts.requireSharding = shards > 1;
}
const guildCount = whole('FAKE_DISCORD_GUILDS') ?? shards;
if (guildCount !== undefined) opts.guildCount = guildCount;
const maxConcurrency = whole('FAKE_DISCORD_MAX_CONCURRENCY');
if (maxConcurrency !== undefined) opts.maxConcurrency = maxConcurrency;

const fake = await startFakeDiscord(opts);
const lines = [
  `fake Discord listening on ${fake.url}`,
  `  REST API:        ${fake.apiUrl}`,
  `  gateway:         ${fake.gatewayUrl}`,
  `  token:           ${fake.token}`,
  `  application id:  ${fake.applicationId}`,
  ...(fake.guilds.length === 1
    ? [`  guild id:        ${fake.guildId}`, ...fake.channels.map((c) => `  channel:         ${c.id} (#${c.name})`)]
    : fake.guilds.flatMap((g) => [
        `  guild id:        ${g.id} (shard ${shardOfGuild(g.id, fake.shards)} of ${fake.shards})`,
        ...g.channels.map((c) => `    channel:       ${c.id} (#${c.name})`),
      ])),
  ...(fake.shards > 1 ? [`  shards:          ${fake.shards}, required (an IDENTIFY with fewer is closed with 4011)`] : []),
  `  schema checks:   ${fake.schemaValidation ? 'on' : 'off'}`,
  '',
  'Put these in .env:',
  `DISCORD_API_URL=${fake.apiUrl}`,
  `DISCORD_TOKEN=${fake.token}`,
  `DISCORD_APPLICATION_ID=${fake.applicationId}`,
  // With several guilds, commands go global (no DEV_GUILD_ID) so that every guild has them.
  ...(fake.guilds.length === 1 ? [`DEV_GUILD_ID=${fake.guildId}`] : []),
  '',
];
console.log(lines.join('\n'));

let stopping = false;
const shutdown = (sig: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${sig}: stopping fake Discord`);
  void fake.stop().then(() => process.exit(0));
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

/** `npm run fake-discord`: run the fake Discord until SIGINT/SIGTERM. Env: FAKE_DISCORD_PORT, FAKE_DISCORD_TOKEN. */
import { startFakeDiscord } from './index.js';
import type { FakeDiscordOptions } from './types.js';

const opts: FakeDiscordOptions = {};
const port = process.env['FAKE_DISCORD_PORT'];
if (port) opts.port = Number(port);
const token = process.env['FAKE_DISCORD_TOKEN'];
if (token) opts.token = token;

const fake = await startFakeDiscord(opts);
const lines = [
  `fake Discord listening on ${fake.url}`,
  `  REST API:        ${fake.apiUrl}`,
  `  gateway:         ${fake.gatewayUrl}`,
  `  token:           ${fake.token}`,
  `  application id:  ${fake.applicationId}`,
  `  guild id:        ${fake.guildId}`,
  ...fake.channels.map((c) => `  channel:         ${c.id} (#${c.name})`),
  `  schema checks:   ${fake.schemaValidation ? 'on' : 'off'}`,
  '',
  'Put these in .env:',
  `DISCORD_API_URL=${fake.apiUrl}`,
  `DISCORD_TOKEN=${fake.token}`,
  `DISCORD_APPLICATION_ID=${fake.applicationId}`,
  `DEV_GUILD_ID=${fake.guildId}`,
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

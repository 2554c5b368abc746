/**
 * A fake Discord (REST v10 + gateway + CDN) on 127.0.0.1 that the unmodified discord.js 14 client accepts.
 * See README.md beside this file.
 */
export { startFakeDiscord } from './server.js';
export { shardOfGuild } from './util.js';
export type { FakeDiscord, FakeDiscordOptions } from './types.js';

/**
 * A fake Discord (REST v10 + gateway + CDN) on 127.0.0.1 that the unmodified discord.js 14 client accepts.
 * See README.md beside this file.
 */
export { startFakeDiscord } from './server.js';
export { shardOfGuild } from './util.js';
export type {
  FakeDiscord,
  FakeDiscordOptions,
  FakeMessage,
  FakeAttachment,
  FakeChannel,
  FakeGuild,
  FakeOverwrite,
  FakeRole,
  Fault,
  FaultController,
  FaultRoute,
  FaultSpec,
  GatewayOpRecord,
  GatewaySessionInfo,
  InteractionHandle,
  InteractionInput,
  InteractionView,
  RecordedRequest,
} from './types.js';

import { Client, GatewayIntentBits, type ClientOptions } from 'discord.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../support/fake-discord/index.js';
import { withTimeout } from '../support/wait.js';

export interface Bed {
  fake: FakeDiscord;
  client: Client;
  /** Everything the client emitted on 'error' / 'shardError'. */
  errors: unknown[];
  close(): Promise<void>;
}

/** Start a fake Discord and log a real discord.js client into it (waits for clientReady). */
export async function startBed(fakeOptions: FakeDiscordOptions = {}, clientOptions: Partial<ClientOptions> = {}): Promise<Bed> {
  const fake = await startFakeDiscord({ heartbeatIntervalMs: 1000, ...fakeOptions });
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...clientOptions,
    rest: { api: fake.apiUrl, timeout: 5000, ...(clientOptions.rest ?? {}) },
  });
  const errors: unknown[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('shardError', (e) => errors.push(e));
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  try {
    await withTimeout(client.login(fake.token), 5000, 'client.login');
    await withTimeout(ready, 5000, 'clientReady');
  } catch (e) {
    await client.destroy();
    await fake.stop();
    throw e;
  }
  return {
    fake,
    client,
    errors,
    async close() {
      await client.destroy();
      await fake.stop();
    },
  };
}

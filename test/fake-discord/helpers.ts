import { createHash } from 'node:crypto';
import { Client, GatewayIntentBits, type ClientOptions } from 'discord.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../support/fake-discord/index.js';

export const sha256 = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Poll a condition, bounded. */
export async function until(cond: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

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

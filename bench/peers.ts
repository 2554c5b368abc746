/**
 * The peers' way of posting, for the network rows (bench/network.ts): one part a message, one
 * message at a time per channel, each poster with its own discord.js REST client (which reads
 * the bucket headers itself). With one channel, as simple bots post; with three, as ddrive does
 * with three webhooks in three channels: independent posters, the parts dealt round-robin.
 */
import { open } from 'node:fs/promises';
import { REST, Routes } from 'discord.js';
import { partName, sanitizeName } from '../src/transfer/plan.js';
import type { FakeProcess } from './fake-process.js';
import type { PostedMessage } from './ipc.js';
import { CHUNK, verifyParts, type Api, type Source } from './transfers.js';

/** Posts every part of `source` through one poster per channel of `channelIds` (part i by poster i mod n); every part checked. */
export async function baselinePosters(
  source: Source,
  api: Api,
  fake: FakeProcess,
  channelIds: readonly string[],
  what: string,
): Promise<{ ms: number; messages: number; channels: number }> {
  const marker = `bench-peer-${channelIds.length}-${source.rel}-${Date.now()}`;
  const name = sanitizeName(source.rel, `upload_benchpeer${channelIds.length}`);
  const handle = await open(source.file, 'r');
  const t0 = performance.now();
  try {
    await Promise.all(
      channelIds.map(async (channelId, poster) => {
        const rest = new REST({ api: api.apiUrl, timeout: 300_000 }).setToken(api.token);
        for (let index = poster; index < source.parts.length; index += channelIds.length) {
          const size = source.parts[index]!.size;
          const data = Buffer.allocUnsafe(size);
          await handle.read(data, 0, size, index * CHUNK);
          const filename = partName(name, index, source.parts.length);
          await rest.post(Routes.channelMessages(channelId), {
            body: { content: marker, attachments: [{ id: 0, filename }] },
            files: [{ name: filename, data }],
          });
        }
      }),
    );
  } finally {
    await handle.close();
  }
  const ms = performance.now() - t0;
  const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker });
  verifyParts(source.parts, posted, name, what);
  return { ms, messages: posted.length, channels: new Set(posted.map((m) => m.channelId)).size };
}

/**
 * The fake Discord in its own process for the benchmark, driven over fork() IPC, so its
 * CPU-bound work (multipart parsing, hashing every attachment) does not share an event loop
 * with the harness or the bot. Bytes are hashed on receipt and dropped (retainAttachments).
 */
import { startFakeDiscord } from '../test/support/fake-discord/index.js';
import type { FakeDiscord, InteractionInput } from '../test/support/fake-discord/types.js';
import type { FakeRequest, FakeReply, FakeStats, PostedMessage } from './ipc.js';

let fake: FakeDiscord | undefined;

async function handle(req: FakeRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': {
      // retainBytes < 0: keep every attachment's bytes, for the CDN to serve them back.
      const network = req.network;
      fake = await startFakeDiscord({
        retainAttachments: req.retainBytes < 0 ? true : req.retainBytes,
        openApiPath: false,
        ...(network
          ? {
              processingMs: network.processingMs,
              channelRateLimit: { ...network.bucket, countAt: 'body' as const },
              ...(network.link ? { link: network.link } : {}),
            }
          : {}),
      });
      const channel = fake.channels[0]!;
      return { apiUrl: fake.apiUrl, token: fake.token, channelId: channel.id };
    }
    case 'split': {
      const f = need();
      const input: InteractionInput = {
        name: 'split',
        permissions: 1n << 3n, // Administrator
        options: [{ name: 'path', type: 3, value: req.path }],
      };
      const handle = await f.sendInteraction(input);
      await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      return handle.original()?.content ?? '';
    }
    case 'share': {
      const handle = await need().sendInteraction({
        name: 'share',
        permissions: 1n << 3n, // Administrator
        options: [{ name: 'transfer', type: 3, value: req.transferId }],
      });
      await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      return handle.original()?.content ?? '';
    }
    case 'messages': {
      const f = need();
      const found: PostedMessage[] = f
        .messages()
        .filter((m) => m.content.includes(req.marker) && m.attachments.length > 0)
        .map((m) => ({
          id: m.id,
          attachments: m.attachments.map((a) => {
            const digest = f.attachmentDigest(a.id);
            let text: string | undefined;
            if (a.filename.endsWith('.manifest.json')) text = f.attachmentBytes(a.id).toString('utf8');
            return { id: a.id, filename: a.filename, ...digest, ...(text === undefined ? {} : { text }) };
          }),
        }));
      return found;
    }
    case 'stats': {
      const creates = need().requests.filter((r) => r.route === 'POST /channels/:id/messages');
      return { creates: creates.length, tooMany: creates.filter((r) => r.status === 429).length } satisfies FakeStats;
    }
    case 'stop':
      await fake?.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

function need(): FakeDiscord {
  if (!fake) throw new Error('fake not started');
  return fake;
}

process.on('message', (req: FakeRequest) => {
  handle(req).then(
    (result) => process.send!({ id: req.id, result } satisfies FakeReply),
    (error: unknown) => process.send!({ id: req.id, error: error instanceof Error ? error.message : String(error) } satisfies FakeReply),
  );
});
process.on('disconnect', () => process.exit(0));

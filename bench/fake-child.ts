/**
 * The fake Discord in its own process for the benchmark, driven over fork() IPC, so its
 * CPU-bound work (multipart parsing, hashing every attachment) does not share an event loop
 * with the harness or the bot. Bytes are hashed on receipt and dropped (retainAttachments).
 */
import { startFakeDiscord } from '../test/support/fake-discord/index.js';
import type { FakeDiscord, InteractionInput } from '../test/support/fake-discord/types.js';
import { snowflake } from '../test/support/fake-discord/util.js';
import type { FakeRequest, FakeReply, FakeStats, NetworkOptions, PlannedFault, PostedMessage } from './ipc.js';

const CREATE = 'POST /channels/:id/messages';
/** Text channels of the guild: /split posts in the first; the ddrive-style row posts in all three. */
const CHANNELS = ['general', 'second', 'third'];

let fake: FakeDiscord | undefined;
/** The network model the fake was started with, if any. */
let startedWith: NetworkOptions | undefined;

async function handle(req: FakeRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': {
      // retainBytes < 0: keep every attachment's bytes, for the CDN to serve them back.
      const network = req.network;
      startedWith = network;
      fake = await startFakeDiscord({
        retainAttachments: req.retainBytes < 0 ? true : req.retainBytes,
        openApiPath: false,
        channels: CHANNELS.map((name) => ({ id: snowflake(), name })),
        ...(network
          ? {
              processingMs: network.processingMs,
              channelRateLimit: { ...network.bucket, countAt: 'body' as const },
              ...(network.link ? { link: network.link } : {}),
            }
          : {}),
      });
      const channel = fake.channels[0]!;
      return { apiUrl: fake.apiUrl, token: fake.token, channelId: channel.id, channelIds: fake.channels.map((c) => c.id) };
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
    case 'send': {
      const handle = await need().sendInteraction({ name: 'send', permissions: 1n << 3n }); // Administrator
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
          channelId: m.channel_id,
          attachments: m.attachments.map((a) => {
            const digest = f.attachmentDigest(a.id);
            let text: string | undefined;
            if (a.filename.endsWith('.manifest.json')) text = f.attachmentBytes(a.id).toString('utf8');
            return { id: a.id, filename: a.filename, ...digest, ...(text === undefined ? {} : { text }) };
          }),
        }));
      return found;
    }
    case 'faults':
      planFaults(need(), req.faults);
      return null;
    case 'stats': {
      const creates = need().requests.filter((r) => r.route === CREATE);
      // Cut off by the client: no answer, and no fault of the fake's that dropped it.
      const abandoned = creates.filter((r) => r.status === 0 && r.fault === undefined);
      const refused = creates.filter((r) => r.status !== 200 && !abandoned.includes(r));
      const bytes = (rs: typeof creates) => rs.reduce((sum, r) => sum + r.bytes, 0);
      return {
        creates: creates.length,
        tooMany: creates.filter((r) => r.status === 429).length,
        refused: refused.length,
        refusedBytes: bytes(refused),
        abandoned: abandoned.length,
        abandonedBytes: bytes(abandoned),
      } satisfies FakeStats;
    }
    case 'stop':
      await fake?.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

/**
 * The fake checks its faults in order and stops at the first that applies, so one entry that
 * never applies counts every message create first, and each planned fault matches its number.
 */
function planFaults(f: FakeDiscord, plan: readonly PlannedFault[]): void {
  f.faults.clear();
  if (plan.length === 0) return;
  let creates = 0;
  const counter = (r: { route: string }) => {
    if (r.route === CREATE) creates++;
    return false;
  };
  f.faults.add({ route: counter, kind: 'delay', ms: 0 });
  const processingMs = startedWith?.processingMs ?? 0;
  const hold = () => new Promise<void>((resolve) => setTimeout(resolve, processingMs));
  for (const p of plan) {
    const route = (r: { route: string }) => r.route === CREATE && creates === p.create;
    if (p.kind === 'rateLimit') f.faults.add({ route, kind: 'rateLimit', retryAfterMs: 1_000, hold });
    else if (p.kind === 'status500') f.faults.add({ route, kind: 'status', status: 500, hold });
    else f.faults.add({ route, kind: 'dropConnection', hold });
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

/** The fake Discord behind its network model: the link proxy, a bucket counted at the body, processing time. */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../support/fake-discord/index.js';
import { startBed } from './helpers.js';
import { sha256 } from '../support/hash.js';
import { until } from '../support/wait.js';
import { MIB } from '../support/units.js';

const CREATE = 'POST /channels/:id/messages';

function form(content: string, file: Buffer): FormData {
  const f = new FormData();
  f.append('payload_json', JSON.stringify({ content, attachments: [{ id: '0', filename: 'a.bin' }] }));
  f.append('files[0]', new Blob([file]), 'a.bin');
  return f;
}

/** The bytes and content type fetch would send for `body`. */
async function encoded(body: FormData): Promise<{ bytes: Buffer; type: string }> {
  const request = new Request('http://127.0.0.1/', { method: 'POST', body });
  return { bytes: Buffer.from(await request.arrayBuffer()), type: request.headers.get('content-type')! };
}

describe('the fake Discord behind the network model', () => {
  let fake: FakeDiscord | undefined;
  const start = async (options: FakeDiscordOptions) => (fake = await startFakeDiscord({ openApiPath: false, ...options }));
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });

  it('GIVEN the link and a bucket of 2 counted at the body WHEN three messages are posted THEN the bytes arrive intact and the third gets a 429 once its whole body is in, with Retry-After in whole seconds', async () => {
    const f = await start({
      link: { uploadBytesPerSecond: 64 * MIB, rttMs: 10 },
      channelRateLimit: { limit: 2, windowMs: 60_000, countAt: 'body' },
      processingMs: 20,
    });
    const url = `${f.apiUrl}/v10/channels/${f.channels[0]!.id}/messages`;
    const files = [randomBytes(MIB), randomBytes(MIB), randomBytes(MIB)];
    const answers: Response[] = [];
    for (const [i, file] of files.entries()) {
      const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bot ${f.token}` }, body: form(`m${i}`, file) });
      await res.arrayBuffer();
      answers.push(res);
    }
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(answers.map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['1', '0', '0']);
    const refused = answers[2]!;
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('x-ratelimit-scope')).toBe('user');
    expect(Number(refused.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
    const records = f.requests.filter((r) => r.route === CREATE);
    expect(records.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(records[2]!.bytes).toBe(records[1]!.bytes);
    const posted = f.messages().map((m) => f.attachmentDigest(m.attachments[0]!.id).sha256);
    expect(posted).toEqual([sha256(files[0]!), sha256(files[1]!)]);
  });

  it('GIVEN processing time WHEN the client goes away after sending the whole body THEN the message is still created; a body cut short creates none', async () => {
    const f = await start({ link: { uploadBytesPerSecond: Number.POSITIVE_INFINITY, rttMs: 4 }, processingMs: 300 });
    const target = new URL(`${f.apiUrl}/v10/channels/${f.channels[0]!.id}/messages`);
    const send = async (content: string, share: number) => {
      const { bytes, type } = await encoded(form(content, randomBytes(256 * 1024)));
      const req = http.request(target, {
        method: 'POST',
        headers: { Authorization: `Bot ${f.token}`, 'Content-Type': type, 'Content-Length': String(bytes.length) },
      });
      req.on('error', () => undefined);
      req.write(bytes.subarray(0, Math.floor(bytes.length * share)));
      if (share === 1) req.end();
      return req;
    };
    const whole = await send('whole', 1);
    await until(() => f.pendingRequests().some((r) => r.route === CREATE && r.bodyAt !== undefined), 5_000, 'the whole body in');
    whole.destroy();
    await until(() => f.messages().some((m) => m.content === 'whole'), 5_000, 'the message created');

    const cut = await send('cut', 0.5);
    await until(() => f.pendingRequests().some((r) => r.route === CREATE && r.bytes === 0), 5_000, 'the cut request started');
    cut.destroy();
    await until(() => f.requests.filter((r) => r.route === CREATE).length >= 2, 5_000, 'the cut request settled');
    expect(f.requests.filter((r) => r.route === CREATE).map((r) => r.status)).toEqual([0, 0]);
    expect(f.messages().map((m) => m.content)).toEqual(['whole']);
  });

  it('GIVEN the link WHEN the fake resets a connection THEN the client sees the reset', async () => {
    const f = await start({ link: { uploadBytesPerSecond: 64 * MIB, rttMs: 2 } });
    f.faults.add({ route: CREATE, kind: 'dropConnection' });
    const url = `${f.apiUrl}/v10/channels/${f.channels[0]!.id}/messages`;
    await expect(fetch(url, { method: 'POST', headers: { Authorization: `Bot ${f.token}` }, body: form('x', randomBytes(1024)) })).rejects.toThrow();
  });

  it('GIVEN the link WHEN a real discord.js client logs in and posts an attachment THEN the gateway and REST work through it', async () => {
    const bed = await startBed({ link: { uploadBytesPerSecond: 32 * MIB, rttMs: 6 } });
    try {
      const channel = await bed.client.channels.fetch(bed.fake.channels[0]!.id);
      const file = randomBytes(MIB);
      if (!channel?.isSendable()) throw new Error('no sendable channel');
      const message = await channel.send({ content: 'through the link', files: [{ attachment: file, name: 'a.bin' }] });
      expect(bed.fake.attachmentDigest(message.attachments.first()!.id).sha256).toBe(sha256(file));
      expect(bed.errors).toEqual([]);
    } finally {
      await bed.close();
    }
  });
});

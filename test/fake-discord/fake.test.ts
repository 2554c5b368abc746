import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { WebSocket } from 'ws';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../support/fake-discord/index.js';
import { sha256 } from '../support/hash.js';
import { heldAnswer } from '../support/held.js';
import { until, withTimeout } from '../support/wait.js';

let fake: FakeDiscord | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await fake?.stop();
  fake = undefined;
});

async function start(o: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  fake = await startFakeDiscord(o);
  return fake;
}

interface CallOpts {
  json?: unknown;
  form?: FormData;
  auth?: string | false;
  query?: string;
}

async function call(f: FakeDiscord, method: string, path: string, o: CallOpts = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (o.auth !== false) headers['Authorization'] = o.auth ?? `Bot ${f.token}`;
  let body: string | FormData | undefined;
  if (o.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form) body = o.form;
  const res = await fetch(`${f.apiUrl}/v10${path}${o.query ?? ''}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

function form(payload: unknown, files: { name: string; data: Buffer }[]): FormData {
  const fd = new FormData();
  files.forEach((f, i) => fd.append(`files[${i}]`, new Blob([f.data]), f.name));
  fd.append('payload_json', JSON.stringify(payload));
  return fd;
}

const post = (f: FakeDiscord, payload: Record<string, unknown>, channel = f.channels[0]!.id) =>
  call(f, 'POST', `/channels/${channel}/messages`, { json: payload });

/** A raw gateway client: collects every payload. */
async function rawGateway(f: FakeDiscord, identify: boolean | string = true) {
  const ws = new WebSocket(`${f.gatewayUrl}?v=10&encoding=json`);
  sockets.push(ws);
  const got: any[] = [];
  let closeCode: number | null = null;
  const waiters = new Set<() => void>();
  ws.on('message', (d: Buffer) => {
    got.push(JSON.parse(d.toString('utf8')));
    for (const w of [...waiters]) w();
  });
  ws.on('close', (code) => {
    closeCode = code;
    for (const w of [...waiters]) w();
  });
  const waitFor = (pred: () => boolean, label: string, ms = 3000) =>
    withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (pred()) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
      ms,
      label,
    );
  await waitFor(() => got.some((p) => p.op === 10), 'HELLO');
  if (identify) {
    ws.send(
      JSON.stringify({
        op: 2,
        d: { token: typeof identify === 'string' ? identify : f.token, intents: 1, properties: { os: 'linux', browser: 'x', device: 'x' } },
      }),
    );
  }
  return { ws, got, waitFor, closeCode: () => closeCode };
}

describe('the fake Discord REST API', () => {
  it('GIVEN no Authorization header or a wrong one WHEN GET /gateway/bot THEN it answers 401 Unauthorized, and with Bot <token> 200 and the gateway URL', async () => {
    const f = await start();
    for (const auth of [false, 'Bot nope', f.token, `Bearer ${f.token}`] as const) {
      const r = await call(f, 'GET', '/gateway/bot', { auth });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ message: '401: Unauthorized', code: 0 });
    }
    const ok = await call(f, 'GET', '/gateway/bot');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      url: f.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
    });
    expect(f.applicationId).toMatch(/^\d{17,19}$/);
    expect(f.guildId).toMatch(/^\d{17,19}$/);
    expect(f.channels[0]!.id).toMatch(/^\d{17,19}$/);
  });

  it('GIVEN an attachment over attachmentSizeLimit or a body (multipart or JSON) over maxRequestBytes WHEN posted THEN it answers 413 / 40005 and stores nothing, and an attachment at the limit is accepted', async () => {
    const f = await start({ attachmentSizeLimit: 1000, maxRequestBytes: 5000 });
    const ch = f.channels[0]!.id;
    const big = await call(f, 'POST', `/channels/${ch}/messages`, {
      form: form({ attachments: [{ id: '0' }] }, [{ name: 'a', data: randomBytes(1001) }]),
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ message: 'Request entity too large', code: 40005 });
    const atLimit = await call(f, 'POST', `/channels/${ch}/messages`, { form: form({}, [{ name: 'a', data: randomBytes(1000) }]) });
    expect(atLimit.status).toBe(200);
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `p${i}`, data: randomBytes(900) }));
    const body = await call(f, 'POST', `/channels/${ch}/messages`, { form: form({}, files) });
    expect(body.status).toBe(413);
    expect(body.body.code).toBe(40005);
    const json = await post(f, { content: 'x'.repeat(100), embeds: [{ description: 'y'.repeat(6000) }] });
    expect(json.status).toBe(413);
    expect(f.messages(ch)).toHaveLength(1);
  });

  describe('a multipart body that stops before its closing boundary', () => {
    /** Every byte of a one-file message except the closing boundary, and the whole body's length. */
    function unfinishedBody(data: Buffer) {
      const boundary = 'cut-before-the-end';
      const head =
        `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\n\r\n${JSON.stringify({ content: 'cut', attachments: [{ id: '0', filename: 'p.bin' }] })}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="files[0]"; filename="p.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
      const sent = Buffer.concat([Buffer.from(head), data]);
      return { boundary, sent, fullLength: sent.length + Buffer.byteLength(`\r\n--${boundary}--\r\n`) };
    }

    /** Sends `sent` and then either aborts the connection or ends the request; resolves with the status, 0 for none. */
    function send(f: FakeDiscord, body: ReturnType<typeof unfinishedBody>, how: 'abort' | 'end'): Promise<number> {
      const url = new URL(`${f.apiUrl}/v10/channels/${f.channels[0]!.id}/messages`);
      return new Promise((resolve) => {
        const req = http.request(url, {
          method: 'POST',
          headers: {
            authorization: `Bot ${f.token}`,
            'content-type': `multipart/form-data; boundary=${body.boundary}`,
            // Aborting: the announced length is the whole body's, as our own client sends it.
            ...(how === 'abort' ? { 'content-length': String(body.fullLength) } : {}),
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.write(body.sent, () => {
          if (how === 'end') req.end();
          // Give the server time to read what was sent before the connection goes.
          else setTimeout(() => req.destroy(), 100);
        });
      });
    }

    it.each(['abort', 'end'] as const)('GIVEN the client does %s after the last file byte THEN no message is stored', async (how) => {
      const f = await start();
      const ch = f.channels[0]!.id;
      const status = await send(f, unfinishedBody(randomBytes(64 * 1024)), how);
      expect(status === 0 || status === 400).toBe(true);
      await until(() => f.requests.some((r) => r.route === 'POST /channels/:id/messages'), 3000, 'the request record');
      expect(f.messages(ch)).toEqual([]);
      const record = f.requests.find((r) => r.route === 'POST /channels/:id/messages');
      expect(record?.messageId).toBeUndefined();
      expect(record?.bytes).toBeGreaterThan(64 * 1024);
    });

    it('GIVEN a hold after the body WHEN the client goes away before its body is complete THEN nothing is stored once released', async () => {
      const f = await start();
      const held = heldAnswer();
      f.faults.add({ route: 'POST /channels/:id/messages', kind: 'hold', afterBody: true, until: held.hold });
      expect(await send(f, unfinishedBody(randomBytes(64 * 1024)), 'abort')).toBe(0);
      await until(() => f.requests.some((r) => r.route === 'POST /channels/:id/messages'), 3000, 'the request record');
      held.release();
      // A request after the release: by its answer, a route the release let run has run.
      expect((await call(f, 'GET', '/gateway/bot')).status).toBe(200);
      expect(f.messages(f.channels[0]!.id)).toEqual([]);
    });

    it('GIVEN a hold after the body WHEN the client goes away once its body is whole THEN the message is stored once released, as Discord would', async () => {
      const f = await start();
      const held = heldAnswer();
      f.faults.add({ route: 'POST /channels/:id/messages', kind: 'hold', afterBody: true, until: held.hold });
      const body = unfinishedBody(randomBytes(64 * 1024));
      const whole = Buffer.concat([body.sent, Buffer.from(`\r\n--${body.boundary}--\r\n`)]);
      const req = http.request(new URL(`${f.apiUrl}/v10/channels/${f.channels[0]!.id}/messages`), {
        method: 'POST',
        headers: { authorization: `Bot ${f.token}`, 'content-type': `multipart/form-data; boundary=${body.boundary}` },
      });
      req.on('error', () => undefined);
      req.end(whole);
      await until(() => f.pendingRequests().some((r) => r.fault === 'hold' && r.bodyAt !== undefined), 3000, 'the whole body, held');
      req.destroy();
      await until(() => f.requests.some((r) => r.route === 'POST /channels/:id/messages'), 3000, 'the client gone');
      expect(f.messages(f.channels[0]!.id)).toEqual([]);
      held.release();
      await until(() => f.messages(f.channels[0]!.id).length === 1, 3000, 'the message stored');
      expect(f.messages(f.channels[0]!.id)[0]!.attachments[0]!.size).toBe(64 * 1024);
    });
  });

  it('GIVEN a message with 11 files, 2001 characters, a 26-character nonce or nothing at all WHEN posted THEN it answers 400 / 50035 (50006 for the empty one), and 10 files or 2000 characters are accepted', async () => {
    const f = await start();
    const ch = f.channels[0]!.id;
    const eleven = Array.from({ length: 11 }, (_, i) => ({ name: `p${i}`, data: Buffer.from([i]) }));
    const r1 = await call(f, 'POST', `/channels/${ch}/messages`, { form: form({}, eleven) });
    expect(r1.status).toBe(400);
    expect(r1.body.code).toBe(50035);
    expect(r1.body.message).toBe('Invalid Form Body');
    expect(r1.body.errors.attachments._errors[0].code).toBe('BASE_TYPE_MAX_LENGTH');
    const r2 = await post(f, { content: 'x'.repeat(2001) });
    expect(r2.status).toBe(400);
    expect(r2.body.code).toBe(50035);
    expect(r2.body.errors.content._errors[0].message).toMatch(/2000/);
    expect((await post(f, { content: 'x'.repeat(2000) })).status).toBe(200);
    const ten = Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, data: Buffer.from([i]) }));
    expect((await call(f, 'POST', `/channels/${ch}/messages`, { form: form({}, ten) })).status).toBe(200);
    const empty = await post(f, {});
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe(50006);
    const schema = await post(f, { content: 'x', nonce: 'n'.repeat(26) });
    expect(schema.status).toBe(400);
    expect(schema.body.code).toBe(50035);
    expect(schema.body.errors.nonce).toBeDefined();
    expect(f.messages(ch)).toHaveLength(2);
  });

  it('GIVEN the guild WHEN its members are asked for THEN the bot and the default member are 200 with their user, and anyone else is 404 / 10007 Unknown Member', async () => {
    const f = await start();
    const bot = await call(f, 'GET', `/guilds/${f.guildId}/members/${f.botUserId}`);
    expect(bot.status).toBe(200);
    expect(bot.body.user.id).toBe(f.botUserId);
    const member = await call(f, 'GET', `/guilds/${f.guildId}/members/${f.defaultUser.id}`);
    expect(member.status).toBe(200);
    expect(member.body.user).toMatchObject({ id: f.defaultUser.id, username: f.defaultUser.username });
    const stranger = await call(f, 'GET', `/guilds/${f.guildId}/members/1300000000000000077`);
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe(10007);
  });

  it('GIVEN a post to an unknown channel or a GET of an unknown message THEN it answers 404 with 10003 Unknown Channel / 10008 Unknown Message', async () => {
    const f = await start();
    const r = await post(f, { content: 'x' }, '123456789012345678');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ message: 'Unknown Channel', code: 10003 });
    const m = await call(f, 'GET', `/channels/${f.channels[0]!.id}/messages/123456789012345678`);
    expect(m.status).toBe(404);
    expect(m.body.code).toBe(10008);
  });

  it('GIVEN a message posted with an attachment WHEN it is edited, then deleted THEN it is Discord-shaped with a signed CDN URL and intact bytes, the edit sets edited_timestamp and keeps the attachment, and once deleted it answers 404 but stays recorded as deleted', async () => {
    const f = await start();
    const ch = f.channels[0]!.id;
    const data = randomBytes(1234);
    const r = await call(f, 'POST', `/channels/${ch}/messages`, {
      form: form({ content: 'part 1', attachments: [{ id: '0', filename: 'x.part1' }] }, [{ name: 'ignored', data }]),
    });
    expect(r.status).toBe(200);
    const m = r.body;
    expect(m).toMatchObject({
      channel_id: ch,
      type: 0,
      content: 'part 1',
      embeds: [],
      mentions: [],
      mention_roles: [],
      pinned: false,
      mention_everyone: false,
      tts: false,
      edited_timestamp: null,
      flags: 0,
      components: [],
    });
    expect(m.author).toEqual(expect.objectContaining({ id: f.botUserId, bot: true, discriminator: '0', avatar: null, global_name: null }));
    expect(m.attachments[0]).toMatchObject({ filename: 'x.part1', size: 1234 });
    expect(m.attachments[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/\d+\/\d+\/x\.part1\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+&$/);
    expect(sha256(f.attachmentBytes(m.attachments[0].id))).toBe(sha256(data));

    const e = await call(f, 'PATCH', `/channels/${ch}/messages/${m.id}`, { json: { content: 'edited' } });
    expect(e.status).toBe(200);
    expect(e.body.content).toBe('edited');
    expect(e.body.edited_timestamp).not.toBeNull();
    expect(e.body.attachments).toHaveLength(1);
    expect(f.messages(ch)[0]).toMatchObject({ content: 'edited', edits: 1 });

    const d = await call(f, 'DELETE', `/channels/${ch}/messages/${m.id}`);
    expect(d.status).toBe(204);
    expect(f.messages(ch)).toHaveLength(0);
    expect(f.allMessagesEver()).toHaveLength(1);
    expect(f.allMessagesEver()[0]!.deleted).toBe(true);
    expect((await call(f, 'GET', `/channels/${ch}/messages/${m.id}`)).status).toBe(404);
    expect((await call(f, 'DELETE', `/channels/${ch}/messages/${m.id}`)).status).toBe(404);
  });

  it.each([
    [false, [false, false]],
    [100, [true, false]],
  ] as const)('GIVEN retainAttachments %s THEN attachments are hashed on receipt and only small ones keep their bytes', async (retain, kept) => {
    const f = await start({ retainAttachments: retain });
    const ch = f.channels[0]!.id;
    const small = randomBytes(100);
    const big = randomBytes(300_000);
    const r = await call(f, 'POST', `/channels/${ch}/messages`, {
      form: form(
        {
          content: 'x',
          attachments: [
            { id: '0', filename: 'a' },
            { id: '1', filename: 'b' },
          ],
        },
        [
          { name: 'a', data: small },
          { name: 'b', data: big },
        ],
      ),
    });
    expect(r.status).toBe(200);
    const [a, b] = r.body.attachments;
    expect(a).toMatchObject({ filename: 'a', size: 100 });
    expect(b).toMatchObject({ filename: 'b', size: 300_000 });
    expect(f.attachmentDigest(a.id)).toEqual({ size: 100, sha256: sha256(small) });
    expect(f.attachmentDigest(b.id)).toEqual({ size: 300_000, sha256: sha256(big) });
    [a, b].forEach((att, i) => {
      if (kept[i]) expect(f.attachmentBytes(att.id).equals(i === 0 ? small : big)).toBe(true);
      else expect(() => f.attachmentBytes(att.id)).toThrow(/not kept/);
    });
    expect((await fetch(b.url)).status).toBe(404);
  });

  it('GIVEN a second create with the same nonce and enforce_nonce in the same channel THEN it returns the first message instead of posting again, while another channel or no enforce_nonce posts anew', async () => {
    const f = await start({
      channels: [
        { id: '1300000000000000001', name: 'a' },
        { id: '1300000000000000002', name: 'b' },
      ],
    });
    const a = await post(f, { content: 'one', nonce: '1234567890', enforce_nonce: true });
    const b = await post(f, { content: 'one again', nonce: '1234567890', enforce_nonce: true });
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body.content).toBe('one');
    expect(b.body.nonce).toBe('1234567890');
    expect(f.messages('1300000000000000001')).toHaveLength(1);
    // other channel: separate
    const c = await post(f, { content: 'one', nonce: '1234567890', enforce_nonce: true }, '1300000000000000002');
    expect(c.body.id).not.toBe(a.body.id);
    // without enforce_nonce: no dedupe, as Discord
    await post(f, { content: 'two', nonce: '999' });
    await post(f, { content: 'two', nonce: '999' });
    expect(f.messages('1300000000000000001')).toHaveLength(3);
    expect(f.allMessagesEver()).toHaveLength(4);
  });

  it('GIVEN an attachment CDN URL THEN it serves the bytes and a Range (206), answers 404 to a tampered signature and once expired, and fetching the message again signs a fresh working URL', async () => {
    const f = await start({ cdnUrlTtlMs: 300 });
    const data = randomBytes(2048);
    const ch = f.channels[0]!.id;
    const m = (await call(f, 'POST', `/channels/${ch}/messages`, { form: form({}, [{ name: 'x.bin', data }]) })).body;
    const first = m.attachments[0].url as string;
    const ok = await fetch(first);
    expect(ok.status).toBe(200);
    expect(sha256(Buffer.from(await ok.arrayBuffer()))).toBe(sha256(data));
    const ranged = await fetch(first, { headers: { Range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(10, 20));
    const tampered = first.replace(/hm=([0-9a-f])/, (_s, c: string) => `hm=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 350));
    expect((await fetch(first)).status).toBe(404);
    const again = (await call(f, 'GET', `/channels/${ch}/messages/${m.id}`)).body;
    const fresh = again.attachments[0].url as string;
    const res = await fetch(fresh);
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    expect(f.messages(ch)[0]!.attachments[0]!.url).toMatch(/hm=/);
  });

  it('GIVEN 7 messages in a channel WHEN listed with limit / before / after / around THEN they come newest first, and limit=101 is refused with 400', async () => {
    const f = await start();
    const ch = f.channels[0]!.id;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await post(f, { content: `m${i}` })).body.id);
    const list = async (q: string) =>
      ((await call(f, 'GET', `/channels/${ch}/messages`, { query: q })).body as { content: string }[]).map((m) => m.content);
    expect(await list('')).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    expect(await list('?limit=3')).toEqual(['m6', 'm5', 'm4']);
    expect(await list(`?limit=3&before=${ids[4]}`)).toEqual(['m3', 'm2', 'm1']);
    expect(await list(`?limit=2&after=${ids[1]}`)).toEqual(['m3', 'm2']);
    expect(await list(`?limit=3&around=${ids[3]}`)).toEqual(['m4', 'm3', 'm2']);
    expect((await call(f, 'GET', `/channels/${ch}/messages`, { query: '?limit=101' })).status).toBe(400);
  });

  it('GIVEN a per-channel bucket of 2 per window THEN answers carry the bucket headers, the third post gets a 429 with retry-after (scope user, not global), another channel is not limited, and after retry-after posting works again', async () => {
    const f = await start({
      channelRateLimit: { limit: 2, windowMs: 500 },
      channels: [
        { id: '1300000000000000001', name: 'a' },
        { id: '1300000000000000002', name: 'b' },
      ],
    });
    const r1 = await post(f, { content: '1' });
    expect(r1.headers.get('x-ratelimit-limit')).toBe('2');
    expect(r1.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(r1.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
    expect(Number(r1.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(r1.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]+$/);
    const r2 = await post(f, { content: '2' });
    expect(r2.headers.get('x-ratelimit-remaining')).toBe('0');
    const r3 = await post(f, { content: '3' });
    expect(r3.status).toBe(429);
    expect(Number(r3.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(r3.headers.get('x-ratelimit-scope')).toBe('user');
    expect(r3.headers.get('x-ratelimit-global')).toBeNull();
    expect(r3.body).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(r3.body.retry_after).toBeGreaterThan(0);
    // the other channel has its own bucket
    expect((await post(f, { content: 'b' }, '1300000000000000002')).status).toBe(200);
    await new Promise((r) => setTimeout(r, Number(r3.headers.get('retry-after')) * 1000 + 20));
    expect((await post(f, { content: '3 again' })).status).toBe(200);
    expect(f.messages('1300000000000000001').map((m) => m.content)).toEqual(['1', '2', '3 again']);
  });

  it('GIVEN scripted faults (a 502 after 1 request for 2 times, then a global 429) THEN they hit exactly the scripted requests, each request is recorded with its status and fault, and the global 429 blocks other routes until it passes', async () => {
    const f = await start();
    const ch = f.channels[0]!.id;
    f.faults.add({ route: 'POST /channels/:id/messages', kind: 'status', status: 502, after: 1, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(f, { content: `${i}` })).status);
    expect(statuses).toEqual([200, 502, 502, 200]);
    const recs = f.requests.filter((r) => r.route === 'POST /channels/:id/messages');
    expect(recs.map((r) => r.status)).toEqual([200, 502, 502, 200]);
    expect(recs[1]!.fault).toBe('status');
    expect(recs[0]!.path).toBe(`/channels/${ch}/messages`);
    expect(recs[0]!.bytes).toBeGreaterThan(0);
    expect(recs[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(recs[0]!.messageId).toBe(f.messages(ch)[0]!.id);

    f.faults.add({ route: (q) => q.method === 'GET', kind: 'rateLimit', retryAfterMs: 200, global: true });
    const g = await call(f, 'GET', `/channels/${ch}`);
    expect(g.status).toBe(429);
    expect(g.headers.get('x-ratelimit-global')).toBe('true');
    expect(g.headers.get('x-ratelimit-scope')).toBe('global');
    expect(g.body.global).toBe(true);
    // global: other routes are limited too until it passes
    expect((await post(f, { content: 'blocked' })).status).toBe(429);
    await new Promise((r) => setTimeout(r, 220));
    expect((await post(f, { content: 'free' })).status).toBe(200);
    expect(f.faults.pending()).toEqual([]);
  });

  it('GIVEN commands PUT for the guild and then globally THEN they are returned with ids, the guild ones are not listed globally, and GET lists the global ones', async () => {
    const f = await start();
    const put = await call(f, 'PUT', `/applications/${f.applicationId}/guilds/${f.guildId}/commands`, {
      json: [{ name: 'split', description: 'd', options: [] }],
    });
    expect(put.status).toBe(200);
    expect(put.body[0]).toMatchObject({ name: 'split', application_id: f.applicationId, guild_id: f.guildId });
    expect(put.body[0].id).toMatch(/^\d{17,19}$/);
    expect(f.commands(f.guildId)).toHaveLength(1);
    expect(f.commands()).toHaveLength(0);
    await call(f, 'PUT', `/applications/${f.applicationId}/commands`, {
      json: [
        { name: 'a', description: 'd' },
        { name: 'b', description: 'd' },
      ],
    });
    expect((await call(f, 'GET', `/applications/${f.applicationId}/commands`)).body).toHaveLength(2);
  });
});

describe('the fake Discord gateway and interactions over a raw WebSocket', () => {
  it('GIVEN a raw gateway socket WHEN it connects, IDENTIFYs and heartbeats THEN it gets HELLO with the interval, READY and GUILD_CREATE with rising sequence numbers, and a heartbeat ack', async () => {
    const f = await start({ heartbeatIntervalMs: 1234 });
    const g = await rawGateway(f);
    expect(g.got[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 1234 } });
    await g.waitFor(() => g.got.some((p) => p.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const ready = g.got.find((p) => p.t === 'READY');
    expect(ready.d).toMatchObject({
      v: 10,
      user: { id: f.botUserId, bot: true },
      guilds: [{ id: f.guildId, unavailable: true }],
      resume_gateway_url: f.gatewayUrl,
      application: { id: f.applicationId },
    });
    const gc = g.got.find((p) => p.t === 'GUILD_CREATE');
    expect(gc.d.channels[0]).toMatchObject({ id: f.channels[0]!.id, type: 0, guild_id: f.guildId });
    expect(gc.s).toBeGreaterThan(ready.s);
    g.ws.send(JSON.stringify({ op: 1, d: gc.s }));
    await g.waitFor(() => g.got.some((p) => p.op === 11), 'heartbeat ack');
  });

  it('GIVEN a raw gateway socket WHEN it IDENTIFYs with a bad token THEN the gateway closes it with 4004', async () => {
    const f = await start();
    const g = await rawGateway(f, 'wrong');
    await g.waitFor(() => g.closeCode() !== null, 'close');
    expect(g.closeCode()).toBe(4004);
  });

  it('GIVEN a session closed with 4000 and an interaction sent meanwhile WHEN it RESUMEs THEN the missed dispatch is replayed, then RESUMED, with the next sequence numbers; a RESUME of an unknown session gets op 9', async () => {
    const f = await start();
    const g = await rawGateway(f);
    await g.waitFor(() => g.got.some((p) => p.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const sessionId = g.got.find((p) => p.t === 'READY').d.session_id as string;
    const lastSeq = Math.max(...g.got.map((p) => p.s ?? 0));
    f.closeGateway(4000);
    await g.waitFor(() => g.closeCode() !== null, 'close');
    expect(g.closeCode()).toBe(4000);
    const h = await f.sendInteraction({ name: 'missed' });
    const g2 = await rawGateway(f, false);
    g2.ws.send(JSON.stringify({ op: 6, d: { token: f.token, session_id: sessionId, seq: lastSeq } }));
    await g2.waitFor(() => g2.got.some((p) => p.t === 'RESUMED'), 'RESUMED');
    const ic = g2.got.find((p) => p.t === 'INTERACTION_CREATE');
    expect(ic.d.id).toBe(h.id);
    expect(ic.s).toBe(lastSeq + 1);
    expect(g2.got.find((p) => p.t === 'RESUMED').s).toBe(lastSeq + 2);
    const g3 = await rawGateway(f, false);
    g3.ws.send(JSON.stringify({ op: 6, d: { token: f.token, session_id: 'nope', seq: 1 } }));
    await g3.waitFor(() => g3.got.some((p) => p.op === 9), 'INVALID_SESSION');
  });

  it('GIVEN an interaction sent to a raw gateway socket THEN INTERACTION_CREATE carries what discord.js needs, and the callback, @original and follow-ups work without auth', async () => {
    const f = await start({ attachmentSizeLimit: 5_000_000 });
    const g = await rawGateway(f);
    await g.waitFor(() => g.got.some((p) => p.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const h = await f.sendInteraction({
      name: 'split',
      options: [{ name: 'channel', type: 7, value: f.channels[0]!.id }],
      permissions: 8n,
      roles: ['1300000000000000009'],
    });
    await g.waitFor(() => g.got.some((p) => p.t === 'INTERACTION_CREATE'), 'INTERACTION_CREATE');
    const d = g.got.find((p) => p.t === 'INTERACTION_CREATE').d;
    expect(d).toMatchObject({
      id: h.id,
      token: h.token,
      application_id: f.applicationId,
      type: 2,
      guild_id: f.guildId,
      channel_id: f.channels[0]!.id,
      channel: { id: f.channels[0]!.id, type: 0 },
      data: { type: 1, name: 'split', options: [{ name: 'channel', type: 7, value: f.channels[0]!.id }] },
      member: { user: { id: f.defaultUser.id, discriminator: '0' }, roles: ['1300000000000000009'], permissions: '8' },
      entitlements: [],
      attachment_size_limit: 5_000_000,
      context: 0,
      version: 1,
    });
    expect(d.authorizing_integration_owners).toBeDefined();
    expect(d.data.resolved.channels[f.channels[0]!.id].name).toBe(f.channels[0]!.name);

    const cb = await call(f, 'POST', `/interactions/${h.id}/${h.token}/callback`, { auth: false, json: { type: 5, data: { flags: 64 } } });
    expect(cb.status).toBe(204);
    expect(h.ephemeral()).toBe(true);
    const again = await call(f, 'POST', `/interactions/${h.id}/${h.token}/callback`, { auth: false, json: { type: 4, data: { content: 'x' } } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe(40060);
    const patch = await fetch(`${f.apiUrl}/v10/webhooks/${f.applicationId}/${h.token}/messages/%40original`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content: 'edited original' }),
    });
    expect(patch.status).toBe(200);
    expect(h.original()).toMatchObject({ content: 'edited original', flags: 64 });
    const fu = await call(f, 'POST', `/webhooks/${f.applicationId}/${h.token}`, { auth: false, query: '?wait=true', json: { content: 'follow' } });
    expect(fu.status).toBe(200);
    expect(fu.body.content).toBe('follow');
    expect(h.followUps().map((m) => m.content)).toEqual(['follow']);
    // a public follow-up is a channel message; the ephemeral original is not
    expect(f.messages(f.channels[0]!.id).map((m) => m.content)).toEqual(['follow']);
    const get = await call(f, 'GET', `/webhooks/${f.applicationId}/${h.token}/messages/@original`, { auth: false });
    expect(get.body.content).toBe('edited original');
    await expect(h.waitFor(() => false, 50)).rejects.toThrow(/edited original/);
  });

  it('GIVEN an interaction left unanswered past its callback deadline THEN waitForResponse times out clearly and a late callback is refused with 404 / 10062', async () => {
    const f = await start({ interactionCallbackDeadlineMs: 50 });
    const g = await rawGateway(f);
    await g.waitFor(() => g.got.some((p) => p.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const h = await f.sendInteraction({ name: 'slow' });
    await expect(h.waitForResponse(100)).rejects.toThrow(/no callback/);
    const late = await call(f, 'POST', `/interactions/${h.id}/${h.token}/callback`, { auth: false, json: { type: 4, data: { content: 'late' } } });
    expect(late.status).toBe(404);
    expect(late.body.code).toBe(10062);
  });

  it('GIVEN no identified gateway session WHEN sendInteraction is called THEN it fails clearly', async () => {
    const f = await start();
    await expect(f.sendInteraction({ name: 'x' })).rejects.toThrow(/no identified gateway session/);
  });
});

/**
 * `/upload` end to end: the bot process fetches from a local HTTPS server (127.0.0.1, its
 * test certificate trusted through NODE_EXTRA_CA_CERTS) and posts to the fake Discord.
 * `files.test` and `intranet.test` are resolved inside the bot by test/support/fake-dns.mjs:
 * the first to 127.0.0.1 (allowlisted), the second to a private address (refused before any
 * connection, so no traffic leaves 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { startHttpsServer, uploadEnv, type FileRoute, type TestHttpsServer } from '../support/https-server.js';
import { heldAnswer, holdAfterParts } from '../support/held.js';
import { seededBytes } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';
import { sha256 } from '../support/hash.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('/upload end to end (bot process + local HTTPS server + fake Discord)', () => {
  let fx: BotFixture;
  let srv: TestHttpsServer;
  let origin: string;

  beforeAll(async () => {
    srv = await startHttpsServer();
    origin = `https://files.test:${srv.port}`;
    fx = await startBotFixture({
      env: {
        ...uploadEnv({ dns: 'files.test=127.0.0.1,intranet.test=10.0.0.7' }),
        MAX_FILE_SIZE_BYTES: String(12 * MIB),
        MAX_ACTIVE_TRANSFERS: '50',
        MAX_CHUNKS_PER_MESSAGE: '2',
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
    await srv?.stop();
  });

  const serve = (route: string, data: Buffer, extra: Omit<FileRoute, 'kind' | 'data'> = {}) => {
    srv.routes.set(route, { kind: 'file', data, ...extra });
    return `${origin}${route}`;
  };

  /** Sends /upload as an administrator; resolves with the interaction once it has content. */
  async function upload(url: string, chunkSizeMiB = 1, extra: { permissions?: bigint } = {}) {
    const handle = await fx.fake.sendInteraction({
      name: 'upload',
      permissions: extra.permissions ?? PERMISSIONS.ADMINISTRATOR,
      options: [
        { name: 'url', type: 3, value: url },
        { name: 'chunk_size', type: 4, value: chunkSizeMiB },
      ],
    });
    await handle.waitForResponse(5_000);
    await handle.waitFor((h) => Boolean(h.original()?.content), 35_000);
    return handle;
  }

  async function started(url: string, chunkSizeMiB = 1): Promise<string> {
    const handle = await upload(url, chunkSizeMiB);
    const content = handle.original()?.content ?? '';
    const id = /`(upload_[a-z0-9]+)`/.exec(content)?.[1];
    if (!id || !/started/.test(content)) throw new Error(`/upload did not start a transfer: ${content}`);
    return id;
  }

  it('GIVEN a file with Content-Length and Content-Disposition THEN it arrives byte for byte under that name, each part once', async () => {
    const data = seededBytes(5 * MIB + 123, 11);
    const url = serve('/dl/abc123', data, { etag: '"e1"', disposition: 'attachment; filename="Big Video (final).mkv"' });
    const id = await started(url);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.file_name).toBe('Big_Video__final_.mkv');
    expect(t.source).toMatchObject({ kind: 'url', url, etag: '"e1"' });
    expect(t.file_sha256).toBe(sha256(data));
    expect(t.total_chunks).toBe(6);
    const rebuilt = rebuildFromFake(fx.fake, id);
    expect(rebuilt.sha256).toBe(sha256(data));
    expect(rebuilt.manifest.file).toEqual({ name: 'Big_Video__final_.mkv', size: data.length, sha256: sha256(data) });
    const names = postedPartNames(fx.fake, id);
    expect(names).toEqual([...new Set(names)]);
    expect(names).toHaveLength(6);
  });

  it('GIVEN 5 redirects THEN they are followed; the name comes from the last URL path', async () => {
    const data = seededBytes(MIB + 5, 12);
    serve('/final/report.pdf', data);
    for (let i = 1; i <= 5; i++) srv.routes.set(`/r${i}`, { kind: 'redirect', location: i === 5 ? '/final/report.pdf' : `/r${i + 1}` });
    const id = await started(`${origin}/r1`);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.file_name).toBe('report.pdf');
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha256(data));
  });

  it('GIVEN no Content-Length (chunked) THEN it completes and the size is recorded at the end', async () => {
    const data = seededBytes(3 * MIB + 77, 13);
    const url = serve('/chunked.bin', data, { chunked: true });
    const id = await started(url);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.file_size).toBe(data.length);
    expect(t.total_chunks).toBe(4);
    const rebuilt = rebuildFromFake(fx.fake, id);
    expect(rebuilt.sha256).toBe(sha256(data));
    // Unknown size: part numbers padded for the most parts MAX_FILE_SIZE_BYTES allows (12 → 3 digits).
    expect(rebuilt.partAttachments.map((p) => p.name)).toEqual([
      'chunked.bin.part001',
      'chunked.bin.part002',
      'chunked.bin.part003',
      'chunked.bin.part004',
    ]);
  });

  it.each([
    ['shorter', 3 * MIB + 1000, /fewer|after \d+ of the announced \d+ bytes/],
    ['longer', 2 * MIB + 1000, /more bytes than its Content-Length/],
  ])('GIVEN a body %s than its Content-Length THEN the transfer ends in error with a note', async (label, announced, note) => {
    const url = serve(`/lie-${label}.bin`, seededBytes(3 * MIB, 14), { contentLength: announced });
    const id = await started(url);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status).toBe('error');
    expect(t.notes.join('\n')).toMatch(note);
    expect(t.manifest_message_id).toBeNull();
  });

  it('GIVEN a chunked body that grows past MAX_FILE_SIZE_BYTES THEN the transfer ends in error with a note', async () => {
    const url = serve('/endless.bin', seededBytes(13 * MIB, 15), { chunked: true });
    const id = await started(url, 4);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status).toBe('error');
    expect(t.notes.join('\n')).toMatch(/more than this bot's limit of 12582912 bytes \(MAX_FILE_SIZE_BYTES\)/);
  });

  /**
   * Starts `url` with the posts held at the fake once `messages` more part messages are posted, and
   * SIGKILLs the bot once `ready(record)` says so (bounded wait): the transfer is unfinished then,
   * however fast the machine. The held requests are let go only after the kill: their bodies never
   * complete, so Discord creates nothing from them.
   */
  async function startThenKill(url: string, messages: number, ready: (t: Awaited<ReturnType<BotFixture['transfer']>>) => boolean): Promise<string> {
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + messages);
    try {
      const id = await started(url);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !ready(await fx.transfer(id))) await sleep(50);
      await fx.restartBot();
      return id;
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
  }

  it('GIVEN the bot is killed mid-transfer THEN the restarted bot resumes with a Range request and the file arrives byte for byte, each part once', async () => {
    const data = seededBytes(10 * MIB + 4321, 16);
    const url = serve('/resume.bin', data, { etag: '"res-1"', ranges: true });
    const id = await startThenKill(url, 2, (t) => t.source.kind === 'url' && (t.source.hash_checkpoint?.offset ?? 0) >= 3 * MIB);
    const checkpoint = (await fx.transfer(id)).source;
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(checkpoint.kind === 'url' && checkpoint.hash_checkpoint?.offset).toBeGreaterThanOrEqual(3 * MIB);
    const gets = srv.requests.filter((r) => r.path === '/resume.bin');
    // The command's look, the first run, the resumed run: only the last one asks for a range.
    expect(gets.map((r) => r.headers.range === undefined)).toEqual([true, true, false]);
    expect(gets[2]?.headers['if-range']).toBe('"res-1"');
    expect(Number(/^bytes=(\d+)-$/.exec(gets[2]?.headers.range ?? '')?.[1])).toBeGreaterThanOrEqual(3 * MIB);
    const rebuilt = rebuildFromFake(fx.fake, id);
    expect(rebuilt.sha256).toBe(sha256(data));
    expect(t.file_sha256).toBe(sha256(data));
    const names = postedPartNames(fx.fake, id);
    expect(names).toEqual([...new Set(names)]);
    expect(names).toHaveLength(11);
  });

  it('GIVEN a server without Range support WHEN the bot is killed mid-transfer THEN the resume downloads from byte 0 with a note, each part once', async () => {
    const data = seededBytes(6 * MIB + 99, 20);
    const url = serve('/norange.bin', data, { etag: '"nr-1"' });
    const id = await startThenKill(url, 1, (t) => t.parts.length >= 2);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.notes.join('\n')).toMatch(/downloading again from byte 0/);
    expect(srv.requests.filter((r) => r.path === '/norange.bin' && r.headers.range)).toEqual([]);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha256(data));
    const names = postedPartNames(fx.fake, id);
    expect(names).toEqual([...new Set(names)]);
    expect(names).toHaveLength(7);
  });

  describe('one visibility whether the URL opens at once or after the bot deferred', () => {
    const DEFERRED = 5; // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

    /** /upload of `route`, its answer held until the bot has deferred (seen at the fake Discord). */
    async function uploadAfterDefer(route: string) {
      const held = heldAnswer();
      const served = srv.routes.get(route)!;
      srv.routes.set(route, { ...served, hold: held.hold });
      try {
        const handle = await fx.fake.sendInteraction({
          name: 'upload',
          permissions: PERMISSIONS.ADMINISTRATOR,
          options: [
            { name: 'url', type: 3, value: `${origin}${route}` },
            { name: 'chunk_size', type: 4, value: 1 },
          ],
        });
        await handle.waitFor((h) => h.callback()?.type === DEFERRED, 15_000);
        held.release();
        return handle;
      } finally {
        held.release();
        srv.routes.set(route, served);
      }
    }

    it('GIVEN a URL that answers at once and one that answers after the bot deferred THEN both "Transfer started" replies are public', async () => {
      serve('/quick.bin', seededBytes(1000, 31));
      serve('/slow.bin', seededBytes(1000, 32));
      const quick = await upload(`${origin}/quick.bin`);
      expect(quick.original()?.content).toMatch(/Transfer `upload_[a-z0-9]+` started/);
      const slow = await uploadAfterDefer('/slow.bin');
      await slow.waitFor((h) => /Transfer `upload_[a-z0-9]+` started/.test(h.original()?.content ?? ''), 35_000);
      expect([quick.ephemeral(), slow.ephemeral()]).toEqual([false, false]);
      for (const h of [quick, slow]) expect(fx.fake.messages().some((m) => m.interactionId === h.id && /started/.test(m.content))).toBe(true);
    });

    it('GIVEN a URL that answers 404 after the bot deferred THEN the refusal is told privately and nothing public is left', async () => {
      srv.routes.set('/slow-gone', { kind: 'status', status: 404 });
      const handle = await uploadAfterDefer('/slow-gone');
      type Shown = { content?: string; flags?: number };
      const told = (h: typeof handle) => [h.original(), ...(h.followUps() as Shown[])].find((m) => /answered HTTP 404/.test(m?.content ?? ''));
      await handle.waitFor((h) => told(h) !== undefined, 35_000);
      expect((told(handle)?.flags ?? 0) & 64).toBe(64);
      // The public "thinking…" placeholder is gone, and no public message came of the command.
      await handle.waitFor((h) => h.original() === undefined || h.ephemeral(), 10_000);
      expect(fx.fake.messages().some((m) => m.interactionId === handle.id)).toBe(false);
    });
  });

  describe('refusals are ephemeral, record nothing and post nothing', () => {
    beforeAll(() => {
      serve('/small.bin', seededBytes(1000, 17));
      serve('/huge.bin', seededBytes(13 * MIB, 18));
      serve('/empty.bin', Buffer.alloc(0));
      srv.routes.set('/to-metadata', { kind: 'redirect', location: 'https://169.254.169.254/latest/meta-data/iam/' });
      srv.routes.set('/gone', { kind: 'status', status: 404 });
      for (let i = 0; i <= 6; i++) srv.routes.set(`/loop${i}`, { kind: 'redirect', location: `/loop${i + 1}` });
      serve('/loop7', seededBytes(10, 19));
    });

    const cases: [string, () => string, RegExp, bigint?][] = [
      ['plain http', () => `http://files.test:${srv.port}/small.bin`, /Plain `http:\/\/` URLs are refused/],
      ['file://', () => 'file:///etc/passwd', /`file:` URLs are refused/],
      ['ftp://', () => 'ftp://files.test/small.bin', /`ftp:` URLs are refused/],
      ['a URL with credentials', () => `https://user:secret@files.test:${srv.port}/small.bin`, /user name or password/],
      ['https://127.0.0.1 (not allowlisted)', () => `https://127.0.0.1:${srv.port}/small.bin`, /127\.0\.0\.1, a loopback address/],
      ['a name resolving to loopback (localhost)', () => `https://localhost:${srv.port}/small.bin`, /resolves to 127\.0\.0\.1, a loopback address/],
      ['a name resolving to a private address', () => 'https://intranet.test/small.bin', /resolves to 10\.0\.0\.7, a private address/],
      ['a redirect to the metadata address', () => `${origin}/to-metadata`, /169\.254\.169\.254, a link-local address/],
      ['6 redirects', () => `${origin}/loop1`, /Too many redirects: more than 5/],
      ['a Content-Length above MAX_FILE_SIZE_BYTES', () => `${origin}/huge.bin`, /above this bot's limit of 12582912 bytes/],
      ['an empty file', () => `${origin}/empty.bin`, /is empty/],
      ['a 404', () => `${origin}/gone`, /answered HTTP 404/],
      ['a member without permission', () => `${origin}/small.bin`, /not allowed to start transfers/, PERMISSIONS.MEMBER],
    ];

    it.each(cases)('GIVEN %s THEN it is refused', async (_label, url, message, permissions) => {
      const before = (await fx.readProgress()).active_transfers.length;
      const posts = fx.fake.requests.filter((r) => r.route === MESSAGES).length;
      const served = srv.requests.length;
      const handle = await upload(url(), 1, permissions === undefined ? {} : { permissions });
      expect(handle.ephemeral()).toBe(true);
      expect(handle.original()?.content).toMatch(message);
      expect((await fx.readProgress()).active_transfers.length).toBe(before);
      expect(fx.fake.requests.filter((r) => r.route === MESSAGES).length).toBe(posts);
      // Nothing but the allowlisted server's own hops was fetched.
      for (const r of srv.requests.slice(served)) expect(r.headers.host).toBe(`files.test:${srv.port}`);
    });
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });
});

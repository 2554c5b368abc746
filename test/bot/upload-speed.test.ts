/**
 * `/upload` against servers that answer too slowly: headers one byte at a time, or a body
 * that trickles. The bot process runs with short limits (URL_HEADERS_TIMEOUT_MS,
 * URL_MIN_BYTES_PER_SECOND over URL_LOW_SPEED_WINDOW_MS) so the tests end quickly; the local
 * HTTPS server is resolved as `files.test` inside the bot (test/support/fake-dns.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { startHttpsServer, uploadEnv, type FileRoute, type TestHttpsServer } from '../support/https-server.js';
import { seededBytes } from '../support/random-file.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { sha256 } from '../support/hash.js';

describe('/upload with a slow server (bot process + local HTTPS server + fake Discord)', () => {
  let fx: BotFixture;
  let srv: TestHttpsServer;
  let origin: string;

  beforeAll(async () => {
    srv = await startHttpsServer();
    origin = `https://files.test:${srv.port}`;
    fx = await startBotFixture({
      env: {
        ...uploadEnv(),
        URL_HEADERS_TIMEOUT_MS: '500',
        URL_MIN_BYTES_PER_SECOND: '50000',
        URL_LOW_SPEED_WINDOW_MS: '1000',
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

  async function command(name: 'upload' | 'resume', value: string) {
    const handle = await fx.fake.sendInteraction({
      name,
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [{ name: name === 'upload' ? 'url' : 'transfer', type: 3, value }],
    });
    await handle.waitForResponse(5_000);
    await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
    return handle;
  }

  it('GIVEN a server that sends its headers one byte at a time THEN /upload is refused ephemerally once URL_HEADERS_TIMEOUT_MS has passed, recording nothing', async () => {
    const url = serve('/slow-head.bin', seededBytes(1000, 40), { slowHeaders: { pauseMs: 100 } });
    const before = (await fx.readProgress()).active_transfers.length;
    const handle = await command('upload', url);
    expect(handle.ephemeral()).toBe(true);
    expect(handle.original()?.content).toMatch(
      /Could not open https:\/\/files\.test:\d+\/slow-head\.bin: the server did not send its status line and headers within 500 ms \(URL_HEADERS_TIMEOUT_MS\)/,
    );
    expect((await fx.readProgress()).active_transfers.length).toBe(before);
  });

  it('GIVEN a body that trickles below URL_MIN_BYTES_PER_SECOND THEN the download is picked up once with Range, the transfer ends error with a low-speed note, and /resume finishes it once the server is fast', async () => {
    const data = seededBytes(40_000, 41);
    const url = serve('/trickle.bin', data, { etag: '"t1"', ranges: true, throttle: { bytes: 200, pauseMs: 100 } });
    const started = await command('upload', url);
    const id = /`(upload_[a-z0-9]+)`/.exec(started.original()?.content ?? '')?.[1];
    expect(id, started.original()?.content).toBeDefined();

    const failed = await fx.waitForStatus(id!, ['complete', 'error', 'cancelled'], 30_000);
    expect(failed.status).toBe('error');
    expect(failed.notes.at(-1)).toMatch(
      /trickle\.bin broke after \d+ of the announced 40000 bytes: the server sent \d+ bytes in 1 s, below the minimum of 50000 bytes\/s \(URL_MIN_BYTES_PER_SECOND\)/,
    );
    // The command's look, the run's download, and one pick-up with Range.
    const gets = srv.requests.filter((r) => r.path === '/trickle.bin');
    expect(gets.map((r) => r.headers.range === undefined)).toEqual([true, true, false]);

    serve('/trickle.bin', data, { etag: '"t1"', ranges: true });
    const resumed = await command('resume', id!);
    expect(resumed.original()?.content).toMatch(/^Resuming/);
    // Not `error`: the record is still `error` until the resumed run begins.
    const done = await fx.waitForStatus(id!, ['complete', 'cancelled'], 30_000);
    expect(done.status, done.notes.join('; ')).toBe('complete');
    expect(rebuildFromFake(fx.fake, id!).sha256).toBe(sha256(data));
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });
});

/** `/metrics` of the bot process, scraped during and after a /split against the fake Discord. */
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { startBotProcess } from '../support/bot-process.js';
import { holdAfterParts } from '../support/held.js';
import { freePort, listeningPorts } from '../support/ports.js';
import { sample } from '../support/prometheus.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const SIZE = 6 * MIB + 5; // bytes: seven 1 MiB parts, one per message

describe('metrics of the bot process', () => {
  let fx: BotFixture;
  let port: number;
  const scrape = async (pathname = '/metrics') => {
    const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    port = await freePort();
    // UPLOAD_TIMEOUT_MS at its default: the part held below waits for the test's scrape, however slow that is.
    fx = await startBotFixture({ env: { METRICS_PORT: String(port), MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '120000' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN a /split with a 502, a 429 and parts held THEN counters rise during it and match the transfer after it', async () => {
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), SIZE, 7);
    // Message creates in order: the progress message, then one per part. Each fault counts only
    // the requests an earlier fault did not take.
    fx.fake.faults.add({ route: MESSAGES, kind: 'status', status: 502, after: 1, times: 1 }); // part 1, first attempt
    fx.fake.faults.add({ route: MESSAGES, kind: 'rateLimit', retryAfterMs: 200, after: 2, times: 1 }); // part 2, first try
    // What comes once 3 parts are posted is held until the scrape below has seen the transfer in
    // the middle. Not "the Nth request": the next message's request arrives while the one before
    // it is with Discord, so which part a request count lands on is a race.
    const held = holdAfterParts(fx.fake, 3);

    const before = await scrape();
    expect(before.status).toBe(200);
    expect(sample(before.text, 'dfs_parts_posted_total')).toBe(0);

    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    await fx.bot.waitForLog((l) => l.msg === 'chunk_ok' && l.chunk === 2 && l.transfer_id === id, 30_000);
    const during = await scrape().finally(held.release);
    expect(sample(during.text, 'dfs_parts_posted_total')).toBeGreaterThanOrEqual(3);
    expect(sample(during.text, 'dfs_transfers{status="in_progress"}')).toBe(1);
    expect(sample(during.text, 'dfs_active_transfers')).toBe(1);
    expect(sample(during.text, 'dfs_retries_total{reason="http_502"}')).toBe(1);
    expect(sample(during.text, 'dfs_rate_limit_waits_total')).toBeGreaterThanOrEqual(1);

    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const after = await scrape();
    expect(sample(after.text, 'dfs_parts_posted_total')).toBe(t.total_chunks);
    expect(sample(after.text, 'dfs_bytes_posted_total')).toBe(SIZE);
    expect(sample(after.text, 'dfs_part_upload_seconds_count')).toBe(t.total_chunks);
    expect(sample(after.text, 'dfs_part_upload_seconds_bucket{le="+Inf"}')).toBe(t.total_chunks);
    expect(sample(after.text, 'dfs_retries_total{reason="http_502"}')).toBe(t.retries);
    expect(sample(after.text, 'dfs_transfers{status="complete"}')).toBe(1);
    expect(sample(after.text, 'dfs_transfers{status="in_progress"}')).toBe(0);
    expect(sample(after.text, 'dfs_active_transfers')).toBe(0);
    const waits = fx.bot.logs.filter((l) => l.msg === 'rate_limited').length;
    expect(sample(after.text, 'dfs_rate_limit_waits_total')).toBe(waits);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN METRICS_PORT THEN the bot listens on that port and no other', async () => {
    const ports = await listeningPorts(fx.bot.child.pid!);
    if (ports !== null) expect(ports).toEqual([port]);
  });

  it('GIVEN any other path THEN 404', async () => {
    expect((await scrape('/')).status).toBe(404);
    expect((await scrape('/metricsx')).status).toBe(404);
  });

  it('GIVEN SIGTERM THEN the bot exits 0 and the metrics port is closed', async () => {
    const exit = await fx.bot.kill('SIGTERM');
    expect(exit.code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('metrics off by default', () => {
  it('GIVEN no METRICS_PORT THEN the bot opens no port', async () => {
    const fx = await startBotFixture();
    try {
      expect(fx.bot.logs.some((l) => l.msg === 'metrics_listening')).toBe(false);
      const ports = await listeningPorts(fx.bot.child.pid!);
      if (ports !== null) expect(ports).toEqual([]);
    } finally {
      await fx.stop();
    }
  });
});

describe('metrics port taken', () => {
  it('GIVEN METRICS_PORT already in use THEN the bot stops before connecting, exit 1 naming METRICS_PORT, lock released', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const work = await tempDir();
      const bot = await startBotProcess({
        cwd: work,
        waitReady: false,
        // Nothing listens at this API URL: the bot must stop before it would need one.
        env: {
          DISCORD_TOKEN: 'token-never-used-0000',
          DISCORD_API_URL: 'http://127.0.0.1:9/api',
          PROGRESS_FILE_PATH: path.join(work, 'p.json'),
          METRICS_PORT: String(port),
        },
      });
      const exit = await bot.exited;
      expect(exit.code).toBe(1);
      expect(bot.stderr()).toMatch(new RegExp(`^error: METRICS_PORT ${port}: cannot listen on 127\\.0\\.0\\.1 .*EADDRINUSE`, 'm'));
      expect(await readdir(work)).not.toContain('p.lock');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { pino } from 'pino';
import { startMetrics } from '../../src/metrics/index.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.js';
import type { TransferStatus } from '../../src/store/schema.js';
import { sample } from '../support/prometheus.js';

/** The one thing the gauges read from a store. */
function fakeStore(statuses: TransferStatus[]) {
  return { statuses, summaries: () => statuses.map((status) => ({ status })) };
}

describe('PrometheusMetrics', () => {
  it('GIVEN parts, retries and rate-limit waits THEN the counters and the histogram show them', async () => {
    const m = new PrometheusMetrics(fakeStore([]));
    m.partPosted(1000, 0.2);
    m.partPosted(500, 3);
    m.retry('http_502');
    m.retry('http_502');
    m.retry('timeout');
    m.retry('Some long message: with spaces');
    m.rateLimitWait();
    const text = await m.registry.metrics();
    expect(sample(text, 'dfs_parts_posted_total')).toBe(2);
    expect(sample(text, 'dfs_bytes_posted_total')).toBe(1500);
    expect(sample(text, 'dfs_part_upload_seconds_count')).toBe(2);
    expect(sample(text, 'dfs_part_upload_seconds_sum')).toBeCloseTo(3.2);
    expect(sample(text, 'dfs_part_upload_seconds_bucket{le="0.25"}')).toBe(1);
    expect(sample(text, 'dfs_part_upload_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(sample(text, 'dfs_retries_total{reason="http_502"}')).toBe(2);
    expect(sample(text, 'dfs_retries_total{reason="timeout"}')).toBe(1);
    // A free-text reason never becomes a label value.
    expect(sample(text, 'dfs_retries_total{reason="other"}')).toBe(1);
    expect(sample(text, 'dfs_rate_limit_waits_total')).toBe(1);
    expect(text).toContain('# TYPE dfs_part_upload_seconds histogram');
  });

  it('GIVEN transfers in the store THEN each scrape counts them by status, zeros included', async () => {
    const store = fakeStore(['complete', 'complete', 'in_progress', 'error']);
    const m = new PrometheusMetrics(store);
    let text = await m.registry.metrics();
    expect(sample(text, 'dfs_transfers{status="complete"}')).toBe(2);
    expect(sample(text, 'dfs_transfers{status="in_progress"}')).toBe(1);
    expect(sample(text, 'dfs_transfers{status="error"}')).toBe(1);
    expect(sample(text, 'dfs_transfers{status="pending"}')).toBe(0);
    expect(sample(text, 'dfs_transfers{status="cancelled"}')).toBe(0);
    expect(sample(text, 'dfs_transfers{status="interrupted"}')).toBe(0);
    expect(sample(text, 'dfs_active_transfers')).toBe(1);

    store.statuses.splice(0, store.statuses.length, 'complete', 'complete', 'complete', 'error');
    text = await m.registry.metrics();
    expect(sample(text, 'dfs_transfers{status="complete"}')).toBe(3);
    expect(sample(text, 'dfs_transfers{status="in_progress"}')).toBe(0);
    expect(sample(text, 'dfs_active_transfers')).toBe(0);
  });

  it('GIVEN two instances THEN each has its own registry and the global default stays empty of ours', async () => {
    const a = new PrometheusMetrics(fakeStore([]));
    const b = new PrometheusMetrics(fakeStore([]));
    a.partPosted(1, 0.1);
    expect(sample(await a.registry.metrics(), 'dfs_parts_posted_total')).toBe(1);
    expect(sample(await b.registry.metrics(), 'dfs_parts_posted_total')).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain('dfs_');
  });
});

describe('metrics server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('GIVEN GET /metrics THEN Prometheus text; any other path THEN 404', async () => {
    const m = new PrometheusMetrics(fakeStore(['complete']));
    server = await startMetricsServer(m.registry, 0);
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await fetch(`${base}/metrics`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(await ok.text(), 'dfs_transfers{status="complete"}')).toBe(1);
    for (const other of ['/', '/metrics/x', '/favicon.ico']) {
      const res = await fetch(`${base}${other}`);
      expect(res.status, other).toBe(404);
      await res.text();
    }
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(404);
    await post.text();
  });

  it('GIVEN a scraper holding a keep-alive connection THEN close() still ends the server and the port refuses', async () => {
    server = await startMetricsServer(new PrometheusMetrics(fakeStore([])).registry, 0);
    const port = server.port;
    await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await server.close();
    server = undefined;
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('GIVEN a port already taken THEN starting fails', async () => {
    server = await startMetricsServer(new PrometheusMetrics(fakeStore([])).registry, 0);
    await expect(startMetricsServer(new PrometheusMetrics(fakeStore([])).registry, server.port)).rejects.toThrow(/EADDRINUSE/);
  });

  it('GIVEN a port already taken WHEN the bot starts its metrics THEN a ListenError names METRICS_PORT and the port', async () => {
    server = await startMetricsServer(new PrometheusMetrics(fakeStore([])).registry, 0);
    const taken = server.port;
    await expect(startMetrics(taken, fakeStore([]), pino({ level: 'silent' }))).rejects.toMatchObject({
      name: 'ListenError',
      code: 'DFS_LISTEN',
      message: expect.stringMatching(new RegExp(`^METRICS_PORT ${taken}: cannot listen on 127\\.0\\.0\\.1 \\(.*EADDRINUSE`)),
    });
  });
});

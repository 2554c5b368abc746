/** `/metrics` over HTTP on 127.0.0.1 only: the numbers are for a local scraper, not the internet. */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { messageOf } from '../errors.js';
import { closeServer, listen } from '../net/listen.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export const METRICS_HOST = '127.0.0.1';

export async function startMetricsServer(registry: Registry, port: number, host = METRICS_HOST): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || pathname !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${messageOf(err)}\n`);
      },
    );
  });
  // A scraper's keep-alive connection would otherwise hold close() open: closeServer closes it too.
  return { port: await listen(server, port, host), close: () => closeServer(server) };
}

/** `/metrics` when METRICS_PORT is set (README, 'Metrics'); off by default, with no port opened. */
import type { Logger } from '../log.js';
import type { PrometheusMetrics, TransferSource } from './prometheus.js';
import { ListenError } from '../errors.js';

export interface MetricsEndpoint {
  metrics: PrometheusMetrics;
  port: number;
  close(): Promise<void>;
}

/** Undefined without a port; throws a message naming METRICS_PORT when the port cannot be had. */
export async function startMetrics(port: number | undefined, store: TransferSource, log: Logger): Promise<MetricsEndpoint | undefined> {
  if (port === undefined) return undefined;
  // Loaded only when asked for: every bot start (and restart) skips prom-client otherwise.
  const [{ PrometheusMetrics }, { METRICS_HOST, startMetricsServer }] = await Promise.all([import('./prometheus.js'), import('./server.js')]);
  const metrics = new PrometheusMetrics(store);
  let server;
  try {
    server = await startMetricsServer(metrics.registry, port);
  } catch (error) {
    throw new ListenError('METRICS_PORT', port, METRICS_HOST, error);
  }
  log.info({ event: 'metrics_listening', host: METRICS_HOST, port: server.port }, 'metrics_listening');
  return { metrics, port: server.port, close: () => server.close() };
}

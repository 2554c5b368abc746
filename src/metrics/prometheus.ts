/**
 * The bot's Prometheus metrics (README, 'Metrics'), in a Registry of their own so nothing else
 * in the process (or a second instance in tests) shares or pollutes them. Counters move as
 * the engine reports; the transfer gauges are read from the progress store on each scrape.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TRANSFER_STATUSES, type TransferRecord } from '../store/schema.js';
import type { Metrics } from './types.js';

/** Upload latency of one part's request: 8 MB takes well under a second locally, minutes on a slow link. */
const UPLOAD_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]; // seconds

/** Labels come from our own short reasons; anything else is folded so a message cannot become a series. */
const REASON_LABEL = /^[a-z0-9_]{1,32}$/;

export interface TransferSource {
  summaries(): Pick<TransferRecord, 'status'>[];
}

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #partsPosted: Counter;
  readonly #bytesPosted: Counter;
  readonly #uploadSeconds: Histogram;
  readonly #retries: Counter<'reason'>;
  readonly #rateLimitWaits: Counter;

  constructor(store: TransferSource) {
    const registers = [this.registry];
    this.#partsPosted = new Counter({ name: 'dfs_parts_posted_total', help: 'Parts Discord confirmed', registers });
    this.#bytesPosted = new Counter({ name: 'dfs_bytes_posted_total', help: 'Bytes of the parts Discord confirmed', registers });
    this.#uploadSeconds = new Histogram({
      name: 'dfs_part_upload_seconds',
      help: 'Seconds of the upload request that carried each confirmed part (parts sharing a message share its time)',
      buckets: UPLOAD_SECONDS_BUCKETS,
      registers,
    });
    this.#retries = new Counter({
      name: 'dfs_retries_total',
      help: 'Failed upload attempts that were retried, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#rateLimitWaits = new Counter({ name: 'dfs_rate_limit_waits_total', help: 'Waits for a Discord rate limit', registers });
    new Gauge({
      name: 'dfs_transfers',
      help: 'Transfers in the progress file, by status',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = new Map<string, number>(TRANSFER_STATUSES.map((s) => [s, 0]));
        for (const t of store.summaries()) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'dfs_active_transfers',
      help: 'Transfers running now (status in_progress)',
      registers,
      collect() {
        this.set(store.summaries().filter((t) => t.status === 'in_progress').length);
      },
    });
  }

  partPosted(bytes: number, seconds: number): void {
    this.#partsPosted.inc();
    this.#bytesPosted.inc(bytes);
    this.#uploadSeconds.observe(Math.max(0, seconds));
  }

  retry(reason: string): void {
    this.#retries.inc({ reason: REASON_LABEL.test(reason) ? reason : 'other' });
  }

  rateLimitWait(): void {
    this.#rateLimitWaits.inc();
  }
}

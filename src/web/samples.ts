/**
 * Throughput over a transfer's life, for the chart: every second, each transfer with a run
 * gets a sample of its bytes done. Kept in memory, since the bot started, at most MAX_SAMPLES
 * per transfer: when full, every other sample is dropped, so a long transfer keeps its whole
 * life at a coarser step.
 */
import type { ProgressStore } from '../store/types.js';

const MAX_SAMPLES = 600;
const SAMPLE_EVERY_MS = 1_000;

export class ThroughputSamples {
  readonly #samples = new Map<string, [number, number][]>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly store: ProgressStore,
    private readonly runningIds: () => string[],
    private readonly now: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.#timer.unref();
  }

  sample(): void {
    const at = this.now();
    for (const id of this.runningIds()) {
      const transfer = this.store.get(id);
      if (!transfer) continue;
      let list = this.#samples.get(id);
      if (!list) this.#samples.set(id, (list = []));
      const last = list.at(-1);
      if (last && last[1] === transfer.bytes_done && list.length > 1 && list.at(-2)?.[1] === transfer.bytes_done) last[0] = at;
      else list.push([at, transfer.bytes_done]);
      if (list.length > MAX_SAMPLES)
        this.#samples.set(
          id,
          list.filter((_, i) => i % 2 === 0 || i === list.length - 1),
        );
    }
    for (const id of this.#samples.keys()) if (!this.store.get(id)) this.#samples.delete(id);
  }

  of(id: string): [number, number][] {
    return [...(this.#samples.get(id) ?? [])];
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
import { formatBytes } from './size.js';

const WIDTH = 30; // characters
const MIN_REDRAW_MS = 100;

export class ProgressBar {
  #lastDraw = 0;
  #drawn = false;
  readonly #startedAt = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly label: string,
    private readonly total: number,
    private readonly enabled = (stream as NodeJS.WriteStream).isTTY,
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#lastDraw < MIN_REDRAW_MS && done < this.total) return;
    this.#lastDraw = now;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const seconds = Math.max((now - this.#startedAt) / 1000, 0.001);
    const rate = formatBytes(done / seconds);
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(this.total)} ${rate}/s`;
    this.stream.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Ends the line so the next message starts on its own. */
  finish(): void {
    if (this.enabled && this.#drawn) this.stream.write('\n');
    this.#drawn = false;
  }
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
import { formatBytes } from './size.js';

const WIDTH = 30; // characters
const MIN_REDRAW_MS = 100;

export interface ProgressBarOptions {
  /** Draw even when the stream is no terminal (tests); default: only on a terminal. */
  enabled?: boolean;
  /** Bytes already done before this run (a resumed upload): the rate and ETA count only what this run does. */
  from?: number;
  now?: () => number;
}

export class ProgressBar {
  #lastDraw = -Infinity;
  #drawn = false;
  #note = '';
  readonly #startedAt: number;
  readonly #enabled: boolean;
  readonly #from: number;
  readonly #now: () => number;

  constructor(
    private readonly stream: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly label: string,
    private readonly total: number,
    options: ProgressBarOptions = {},
  ) {
    this.#enabled = options.enabled ?? Boolean((stream as Partial<NodeJS.WriteStream>).isTTY);
    this.#from = options.from ?? 0;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Text shown after the bar (`parts 3/50`); drawn with the next update. */
  note(text: string): void {
    this.#note = text;
  }

  update(done: number): void {
    if (!this.#enabled) return;
    const now = this.#now();
    if (now - this.#lastDraw < MIN_REDRAW_MS && done < this.total) return;
    this.#lastDraw = now;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const seconds = Math.max((now - this.#startedAt) / 1000, 0.001);
    const perSecond = Math.max(0, done - this.#from) / seconds;
    const eta = done >= this.total ? '' : perSecond > 0 ? ` ETA ${formatDuration((this.total - done) / perSecond)}` : ' ETA --';
    const note = this.#note ? ` · ${this.#note}` : '';
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(this.total)} ${formatBytes(perSecond)}/s${eta}${note}`;
    this.stream.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Ends the line so the next message starts on its own. */
  finish(): void {
    if (this.#enabled && this.#drawn) this.stream.write('\n');
    this.#drawn = false;
  }
}

/** `45s`, `3m05s`, `2h07m`: what is left, to the second under an hour. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

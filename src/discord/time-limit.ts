/**
 * A request's time limit that can stop counting: an upload's UPLOAD_TIMEOUT_MS is the time the
 * request spends on the wire and with Discord, not the time the bot itself holds its end back
 * (for the message before it, or the channel's bucket: pipeline.ts, bucket.ts).
 */
export class TimeLimit {
  /** ms still allowed when the clock last stopped. */
  #left: number;
  #since = 0; // ms, when it last started counting
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  /** Starts counting at once; `expire` is called once `ms` of counted time have passed. */
  constructor(
    ms: number,
    private readonly expire: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.#left = ms;
    this.resume();
  }

  /** Stops counting (harmless when already stopped). */
  pause(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#left -= this.now() - this.#since;
  }

  /** Counts again from where it stopped (harmless when counting, or once expired or cleared). */
  resume(): void {
    if (this.#timer !== undefined || this.#done) return;
    this.#since = this.now();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#done = true;
        this.expire();
      },
      Math.max(0, this.#left),
    );
  }

  /** The request is over: never expires. */
  clear(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

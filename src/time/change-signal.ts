/** Waking whoever waits for something to change (a staging folder's writer and reader, src/send/staging.ts). */
import { abortReason } from './sleep.js';

/** What a stalled writer or reader waits for: every `fire` settles the waits so far (and starts a new round). */
export class ChangeSignal {
  #resolve!: () => void;
  #promise = this.#fresh();

  #fresh(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Resolves at the next `fire`, or rejects when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    if (!signal) return this.#promise;
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#promise.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  fire(): void {
    const resolve = this.#resolve;
    this.#promise = this.#fresh();
    resolve();
  }
}

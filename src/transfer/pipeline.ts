/**
 * The messages of one run on their way, in dispatch order (README, 'What survives what'). At most
 * `parallel` (MAX_PARALLEL_UPLOADS) of them are with Discord at once: completed, waiting for
 * the answer. Meanwhile one more may stream its body, holding back its last bytes until it may
 * complete, so the link does not sit idle for a round trip and Discord's processing time after
 * each message. A message may complete once every message before it has, and fewer than
 * `parallel` of those are unanswered: with one at a time (the default), only after the answer
 * to the one before, so Discord creates them in order.
 *
 * When a message's attempt fails it is sent again, and the messages after it that have not
 * completed stay as they are, their requests open with their end held, until it has been
 * answered: their bytes already went, and cutting them off would send them all again. They
 * wait so at most `holdForRetryMs` from the first failure of a message before them (a
 * connection held idle that long may be dropped on the way anyway); then, or once a message
 * before them is given up, they are held back (HeldBackError): their requests stop before
 * their end, and they are sent again once the messages before them have completed. A sink
 * that never says its body was sent (`sent`) gets no overlap: the next message starts when
 * this one leaves, as before.
 */
import { HeldBackError } from '../errors.js';
import { abortReason } from '../time/sleep.js';
import type { MessageHold } from './sink.js';

type State = 'sending' | 'held' | 'completed' | 'again';

/** Rounds of waiting a turn may go through; each is woken by a change of some turn, which are finitely many. */
const MAX_ROUNDS = 1_000_000;

export class UploadPipeline {
  readonly #turns: Turn[] = [];
  readonly #waiters = new Set<() => void>();

  /** `holdForRetryMs`: how long a message may stay held while one before it is sent again (Infinity: for as long as that takes). */
  constructor(
    readonly parallel: number,
    readonly signal: AbortSignal,
    readonly holdForRetryMs = Number.POSITIVE_INFINITY,
  ) {
    signal.addEventListener('abort', () => this.changed(), { once: true });
  }

  /** Waits until a new message may start sending; null once the run stopped dispatching. */
  async enter(): Promise<Turn | null> {
    try {
      await this.until(() => this.#turns.length <= this.parallel && this.#count('sending', 'again') < this.parallel);
    } catch {
      return null;
    }
    const turn = new Turn(this);
    this.#turns.push(turn);
    return turn;
  }

  /** The turns before `turn`, oldest first. */
  before(turn: Turn): Turn[] {
    return this.#turns.slice(0, this.#turns.indexOf(turn));
  }

  after(turn: Turn): Turn[] {
    return this.#turns.slice(this.#turns.indexOf(turn) + 1);
  }

  count(...states: State[]): number {
    return this.#count(...states);
  }

  remove(turn: Turn): void {
    const at = this.#turns.indexOf(turn);
    if (at >= 0) this.#turns.splice(at, 1);
    this.changed();
  }

  changed(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `ready()` holds (checked on every change); rejects when `fail()` throws or the run stops dispatching. */
  until(ready: () => boolean, fail: () => void = () => undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let rounds = 0;
      const check = () => {
        try {
          if (this.signal.aborted) throw abortReason(this.signal);
          fail();
          if (!ready()) {
            if (++rounds > MAX_ROUNDS) throw new Error('a message waited for its turn too long');
            return;
          }
          this.#waiters.delete(check);
          resolve();
        } catch (error) {
          this.#waiters.delete(check);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  #count(...states: State[]): number {
    return this.#turns.filter((t) => states.includes(t.state)).length;
  }
}

/** One message's place in the pipeline; the sender drives it, and hands it to the sink as the message's hold. */
export class Turn implements MessageHold {
  state: State = 'sending';
  /** Set when this one must not complete before it is sent again: held too long for a failed message before it, or that one was given up. */
  #heldBack = false;
  /** Failed, and not completed since: the messages after it wait while it is sent again. */
  #retrying = false;
  /** Ends this one's wait for a failed message before it (see `holdForRetryMs`). */
  #holdLimit: NodeJS.Timeout | undefined;

  constructor(private readonly pipeline: UploadPipeline) {}

  get signal(): AbortSignal {
    return this.pipeline.signal;
  }

  check(): void {
    if (this.pipeline.signal.aborted)
      throw new HeldBackError('the transfer stopped before this message was completed', { cause: this.pipeline.signal.reason });
    if (this.#heldBack) throw new HeldBackError('a message before this one has to be sent again first');
  }

  sent(): void {
    if (this.state !== 'sending') return;
    this.state = 'held';
    this.pipeline.changed();
  }

  async mayComplete(): Promise<void> {
    if (this.state === 'completed') return;
    this.sent();
    try {
      await this.pipeline.until(
        () => {
          const before = this.pipeline.before(this);
          return before.every((t) => t.state === 'completed') && before.length < this.pipeline.parallel;
        },
        () => this.check(),
      );
    } catch (error) {
      throw error instanceof HeldBackError ? error : new HeldBackError('the transfer stopped before this message was completed', { cause: error });
    }
    this.state = 'completed';
    this.#retrying = false;
    this.#endHoldLimit();
    this.pipeline.changed();
  }

  /** Whether it must wait for `restart` before it is sent again. */
  get again(): boolean {
    return this.state === 'again';
  }

  /** Held back before Discord got its end (see `#heldBack`): whatever its request meets now, it was never created. */
  get heldBack(): boolean {
    return this.#heldBack;
  }

  /** This message's attempt failed: it is sent again, and the messages after it that have not completed stay held meanwhile, within a bound. */
  failed(): void {
    this.state = 'again';
    this.#retrying = true;
    for (const t of this.pipeline.after(this)) t.#startHoldLimit();
    this.pipeline.changed();
  }

  /** Before sending it again: waits until every message before it has completed and the link has room. */
  async restart(): Promise<void> {
    await this.pipeline.until(() => {
      const before = this.pipeline.before(this);
      return before.every((t) => t.state === 'completed') && this.pipeline.count('sending') < this.pipeline.parallel;
    });
    this.state = 'sending';
    this.#heldBack = false;
    this.pipeline.changed();
  }

  /** Answered (`ok`) or given up: it leaves; a message given up holds back those after it. */
  leave(ok: boolean): void {
    this.#endHoldLimit();
    if (!ok) for (const t of this.pipeline.after(this)) t.#holdBack();
    this.pipeline.remove(this);
  }

  /** Not completed: it must be sent again, so its request stops before its end (`check` throws). */
  #holdBack(): void {
    if (this.state === 'completed') return;
    this.#endHoldLimit();
    this.state = 'again';
    this.#heldBack = true;
  }

  /** A message before this one failed: from now on this one stays held at most `holdForRetryMs`, counted from the first such failure. */
  #startHoldLimit(): void {
    const ms = this.pipeline.holdForRetryMs;
    if (this.state === 'completed' || this.#heldBack || this.#holdLimit !== undefined || !Number.isFinite(ms)) return;
    this.#holdLimit = setTimeout(() => {
      this.#holdLimit = undefined;
      // Once every failed message before it has been sent again, waiting is the ordinary hold.
      if (!this.pipeline.before(this).some((t) => t.#retrying)) return;
      this.#holdBack();
      this.pipeline.changed();
    }, ms);
    this.#holdLimit.unref();
  }

  #endHoldLimit(): void {
    clearTimeout(this.#holdLimit);
    this.#holdLimit = undefined;
  }
}

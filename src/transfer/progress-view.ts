/**
 * How people follow a transfer while it runs, as the runner sees it. The bot's view is one
 * Discord message edited as it goes (src/discord/progress-message.ts); a test or another
 * front end can bring its own.
 */
import type { StoredTransfer } from '../store/types.js';
import type { Rate } from './rate.js';

/** How people follow a transfer (for the bot: one Discord message, edited as it goes). */
export interface ProgressView {
  /** Starts showing a run; null when it cannot be shown (the run goes on regardless). `signal`: the run's stop (a /cancel, a shutdown). */
  begin(transfer: StoredTransfer, signal: AbortSignal): Promise<ProgressDisplay | null>;
  /** Shows how a transfer ended; retried until `signal` (the runner's shutdown) fires. */
  showEnd(transfer: StoredTransfer, rate: Rate | undefined, signal: AbortSignal): Promise<void>;
  /** After a start: transfers not running whose end was never shown get it now; their ids. */
  repairEnds(isRunning: (id: string) => boolean, signal: AbortSignal): Promise<string[]>;
}

/** What a run knows of its transfer that its record does not say. */
export interface LiveProgress {
  /** A file sent from a member's computer whose run has waited a while for the sender's next bytes. */
  waitingForSender: boolean;
}

export interface ProgressDisplay {
  update(transfer: StoredTransfer, rate: Rate, live?: LiveProgress): void;
  /** No more updates; resolves once the one in flight settled. */
  stop(): Promise<void>;
}

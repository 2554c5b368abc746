/**
 * Which lane of a transfer a part message goes to (README, 'Lanes'): the one that can take it
 * soonest. A message sent again (the same nonce) goes where its first attempt went, as long as
 * that lane is still in use: Discord answers a nonce it has seen (enforce_nonce) only in the
 * channel it was posted in, so a retry after a lost answer elsewhere would post the part twice.
 * And what a refused post in a lane says.
 */
import { DiscordAPIError } from 'discord.js';
import { SinkError } from '../errors.js';
import type { StoredTransfer } from '../store/types.js';
import { laneChannelIds } from '../transfer/part-records.js';

/** One message's lane, held from `take` until `release`. */
export interface LaneTicket {
  readonly channelId: string;
  /** The message is answered (`posted`) or failed; harmless a second time. */
  release(posted: boolean): void;
}

export class LanePicker {
  /** Channel → this process's part messages in flight there (a lane is one transfer's own). */
  readonly #inFlight = new Map<string, number>();
  /** Nonce → the channel its first attempt went to, until it is posted (a message given up keeps its entry: few, and small). */
  readonly #byNonce = new Map<string, string>();

  /** `lanes`: MAX_PARALLEL_UPLOADS; `readyIn`: how soon a channel's bucket has room (ms). */
  constructor(
    private readonly lanes: number,
    private readonly readyIn: (channelId: string) => number,
  ) {}

  /**
   * The lane for a part message: its first attempt's, else the one with the fewest messages in
   * flight, then the one whose bucket has room soonest, then the lowest.
   */
  take(transfer: Pick<StoredTransfer, 'channel_id' | 'threads'>, nonce: string): LaneTicket {
    const channels = laneChannelIds(transfer, this.lanes);
    const before = this.#byNonce.get(nonce);
    const channelId =
      before !== undefined && channels.includes(before)
        ? before
        : channels
            .map((id, lane) => ({ id, lane, busy: this.#inFlight.get(id) ?? 0, ready: this.readyIn(id) }))
            .sort((a, b) => a.busy - b.busy || a.ready - b.ready || a.lane - b.lane)[0]!.id;
    this.#byNonce.set(nonce, channelId);
    this.#inFlight.set(channelId, (this.#inFlight.get(channelId) ?? 0) + 1);
    let released = false;
    return {
      channelId,
      release: (posted) => {
        if (released) return;
        released = true;
        const left = (this.#inFlight.get(channelId) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(channelId, left);
        else this.#inFlight.delete(channelId);
        if (posted) this.#byNonce.delete(nonce);
      },
    };
  }
}

/** Discord's codes for a post in a thread that is gone, or archived and locked. */
const UNKNOWN_CHANNEL = 10003;
const THREAD_ARCHIVED = 50083;

/** A refused post in the transfer's thread, in words that say what a moderator did and what /resume does; others as they are. */
export function threadRefusal(error: unknown, threadId: string): unknown {
  const code = error instanceof SinkError && error.cause instanceof DiscordAPIError ? error.cause.code : null;
  if (code === UNKNOWN_CHANNEL) return threadGone(threadId, error);
  if (code === THREAD_ARCHIVED)
    return new SinkError(`the transfer's thread <#${threadId}> is archived and locked; unlock it, then /resume`, 'fatal', 'thread_locked', {
      cause: error,
    });
  return error;
}

/** A lane's thread gone: the transfer ends error, and /resume replaces it. */
export function threadGone(threadId: string, cause: unknown): SinkError {
  return new SinkError(`the transfer's thread <#${threadId}> is gone (deleted?); /resume posts the rest in a new thread`, 'fatal', 'thread_gone', {
    cause,
  });
}

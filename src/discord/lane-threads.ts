/**
 * A transfer's other lanes (README, 'Lanes'): with PARTS_IN=thread and MAX_PARALLEL_UPLOADS = k > 1,
 * k − 1 public threads in its channel besides its own (threads.ts), each recorded before any
 * part is posted in it, taken up rather than made twice when Discord made one the record never got.
 */
import type { REST } from 'discord.js';
import { RetryFailure } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import { retry, type RetryOptions } from '../transfer/retry.js';
import { classifyRestError } from './classify.js';
import { FEWER_LANES_NOTE } from './progress.js';
import { laneName } from './thread-names.js';
import { unrecordedLane } from './unrecorded-threads.js';

export interface LaneThreadsOptions {
  rest: REST;
  store: ProgressStore;
  log: Logger;
  partsIn: 'thread' | 'channel';
  /** MAX_PARALLEL_UPLOADS: the most lanes a transfer posts through, its own thread included. */
  lanes: number;
  /** MAX_CHUNKS_PER_MESSAGE: with the transfer's part count, how many part messages it makes at least (no lane is made for none). */
  partsPerMessage: number;
  /** The bot's user id (the owner of its threads); null before it is logged in. */
  botUserId: () => string | null;
}

/** What the transfer's threads (threads.ts) do for its lanes as for its own thread. */
export interface ThreadRequests {
  /** A new thread without a starter message, named `name`, in the transfer's channel. */
  start(transfer: StoredTransfer, name: string, signal: AbortSignal): Promise<string>;
  /** Whether a recorded thread is still there. */
  exists(threadId: string, signal: AbortSignal): Promise<boolean>;
  /** A durable change to the transfer's record. */
  record(id: string, change: Parameters<ProgressStore['update']>[1]): Promise<void>;
  retries(signal?: AbortSignal): RetryOptions;
}

export class LaneThreads {
  readonly #o: LaneThreadsOptions;
  readonly #t: ThreadRequests;
  /** Lane threads Discord has answered for and whose record is on its way: no other lane takes them up. */
  readonly #making = new Set<string>();

  constructor(options: LaneThreadsOptions, requests: ThreadRequests) {
    this.#o = options;
    this.#t = requests;
  }

  /**
   * Lanes 1 to k − 1 (#laneCount; made with PARTS_IN=thread): each a thread of its own in the
   * channel, without a starter message, kept while it is there, else made and recorded before
   * any part is posted in it. A crash between Discord's answer and the record leaves an empty
   * thread the record does not know (no part goes to a lane before it is recorded); the next
   * run takes it up (#makeLane). Lanes from a run with more of them stay recorded (their parts
   * are there) and get no new parts. Where Discord refuses one, the lanes made so far are used,
   * and a note says how many and why.
   */
  async make(transfer: StoredTransfer, signal: AbortSignal): Promise<void> {
    const k = this.#laneCount(transfer);
    // Threads recorded before this run: an earlier one got this far, and may have made a lane it never recorded.
    const earlier = transfer.threads.length > 0;
    let refusal: unknown = null;
    for (let lane = 1; lane < k; lane++) {
      const recorded = transfer.threads.find((t) => t.lane === lane);
      if (recorded && (await this.#t.exists(recorded.id, signal))) continue;
      // With PARTS_IN=channel, or after a refusal, none is made: a lane gone is only dropped (its parts are missing, and are posted again).
      const made = refusal === null && this.#o.partsIn === 'thread' ? await this.#makeLane(transfer, lane, k, earlier, signal) : null;
      if (made instanceof LaneRefused) refusal = made.cause;
      if (!recorded && typeof made !== 'string') continue;
      try {
        await this.#t.record(transfer.id, (t) => {
          t.threads = t.threads.filter((x) => x.lane !== lane);
          if (typeof made === 'string') t.threads.push({ id: made, lane });
        });
      } finally {
        if (typeof made === 'string') this.#making.delete(made);
      }
    }
    if (refusal === null) return;
    this.#o.log.warn({ err: refusal, transfer_id: transfer.id }, 'could not make a lane thread; the transfer posts through fewer lanes');
    await this.#t.record(transfer.id, (t) => {
      const used = t.threads.filter((x) => x.lane < k).length;
      const note = `${FEWER_LANES_NOTE}: ${used} of ${k}, as Discord refused to make another thread (${classifyRestError(refusal).message})`;
      if (t.notes.at(-1) !== note) t.notes.push(note);
    });
  }

  /**
   * The lanes worth having: MAX_PARALLEL_UPLOADS, but no more than the transfer's fewest part
   * messages (a lane no message can reach would stay an empty thread in the channel); all of
   * them when its size is not known (a download without a length).
   */
  #laneCount(transfer: StoredTransfer): number {
    if (transfer.total_chunks === null) return this.#o.lanes;
    return Math.max(1, Math.min(this.#o.lanes, Math.ceil(transfer.total_chunks / this.#o.partsPerMessage)));
  }

  /**
   * A thread for lane `lane` of `k`; what Discord refused, as LaneRefused. A failed request may
   * have made the thread all the same (its answer lost): before asking again, and before a first
   * ask when an `earlier` run may have made it, the lane's thread is looked for and taken up.
   */
  async #makeLane(transfer: StoredTransfer, lane: number, k: number, earlier: boolean, signal: AbortSignal): Promise<string | LaneRefused> {
    const name = laneName(transfer.file_name, lane, k);
    let look = earlier;
    try {
      const { value: id } = await retry(async () => {
        const found = look ? await this.#unrecordedLane(transfer, name) : null;
        look = true;
        return found ?? (await this.#t.start(transfer, name, signal));
      }, this.#t.retries(signal));
      this.#making.add(id);
      return id;
    } catch (failure) {
      // Stopped: no lane, and no note (Discord refused nothing); a thread Discord made all the same stays empty, as after a kill.
      signal.throwIfAborted();
      return new LaneRefused(failure instanceof RetryFailure ? failure.cause : failure);
    }
  }

  /**
   * The lane thread named `name` an earlier attempt made and nobody recorded (unrecorded-threads.ts), or
   * null: also when Discord will not say (logged; a new thread is made), unless asking again may help.
   */
  async #unrecordedLane(transfer: StoredTransfer, name: string): Promise<string | null> {
    const botUserId = this.#o.botUserId();
    if (botUserId === null) return null;
    // Any transfer's threads, and its progress message's id: a transfer's own thread has it, recorded or not yet.
    const taken = new Set(this.#making);
    for (const { id } of this.#o.store.summaries()) {
      const other = this.#o.store.get(id);
      for (const t of other?.threads ?? []) taken.add(t.id);
      if (other?.progress_message_id) taken.add(other.progress_message_id);
    }
    try {
      return await unrecordedLane(this.#o.rest, transfer, botUserId, name, taken);
    } catch (error) {
      if (classifyRestError(error).kind === 'transient') throw error;
      this.#o.log.warn({ err: error, transfer_id: transfer.id }, 'could not look for a lane thread an earlier attempt made; making a new one');
      return null;
    }
  }
}

/** Discord's refusal to make a lane's thread. */
class LaneRefused {
  constructor(readonly cause: unknown) {}
}

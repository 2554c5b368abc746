/**
 * MAX_ACTIVE_TRANSFERS (README, 'Configuration'): a member's unfinished transfers, counted from the
 * records plus the slots claimed by commands that checked the limit and have not recorded
 * their transfer yet. A command awaits (defer, a URL check, an fsync) between the check and
 * the record; claiming at the check, in one synchronous step, keeps simultaneous commands
 * from all passing it.
 */
import { ACTIVE_STATUSES } from '../store/state.js';
import type { ProgressStore } from '../store/types.js';
import { newTransferId } from './plan.js';

/** A member's claim on one of their MAX_ACTIVE_TRANSFERS, held from the check until the transfer is recorded. */
export interface Reservation {
  /** The id the transfer is recorded under. */
  readonly id: string;
  /** Gives the slot back; harmless once the transfer is recorded (the record counts then). */
  release(): void;
}

export class ActiveSlots {
  /** Reserved transfer id → owner. */
  readonly #reserved = new Map<string, string>();

  constructor(private readonly store: ProgressStore) {}

  /** The owner's unfinished transfers: recorded ones, plus reserved ones not recorded yet. */
  activeCount(ownerId: string): number {
    const recorded = this.store.summaries().filter((t) => t.owner_id === ownerId && ACTIVE_STATUSES.includes(t.status)).length;
    let reserved = 0;
    for (const [id, owner] of this.#reserved) if (owner === ownerId && !this.store.get(id)) reserved++;
    return recorded + reserved;
  }

  /** Null when the owner is at `limit`; else a claimed slot and the id to record under. */
  reserve(ownerId: string, limit: number): Reservation | null {
    if (this.activeCount(ownerId) >= limit) return null;
    const id = newTransferId();
    this.#reserved.set(id, ownerId);
    return { id, release: () => void this.#reserved.delete(id) };
  }
}

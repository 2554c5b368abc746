/**
 * Who may cancel or resume a transfer, and when (README, 'Commands'): the rules every front end
 * applies before it asks the runner, so `/cancel` and the dashboard's Cancel button refuse
 * and act alike. Each returns null when the action may go ahead, else what to tell the person.
 */
import { ACTIVE_STATUSES } from '../store/state.js';
import type { StoredTransfer } from '../store/types.js';

/** The person asking, as their permissions were when they asked (a slash command, a dashboard session). */
export interface Actor {
  userId: string;
  /** May start transfers (ALLOWED_ROLE_IDS / ALLOWED_USER_IDS, Administrator or Manage Server). */
  mayStart: boolean;
  /** Manage Messages or Administrator: may act on other members' transfers. */
  mayActOnOthers: boolean;
}

const RESUMABLE = ['interrupted', 'error', 'pending'] as const;

function canAct(actor: Actor, transfer: Pick<StoredTransfer, 'owner_id'>): boolean {
  return actor.userId === transfer.owner_id || actor.mayActOnOthers;
}

export function cancelRefusal(actor: Actor, transfer: StoredTransfer): string | null {
  if (!canAct(actor, transfer)) return 'Only the member who started this transfer, or someone with Manage Messages, may cancel it.';
  if (!ACTIVE_STATUSES.includes(transfer.status) && transfer.status !== 'error') return `Transfer \`${transfer.id}\` is already ${transfer.status}.`;
  return null;
}

export function resumeRefusal(actor: Actor, transfer: StoredTransfer, running: boolean): string | null {
  if (!actor.mayStart || !canAct(actor, transfer)) {
    return 'Only the member who started this transfer, or someone with Manage Messages, may resume it.';
  }
  if (running) return `Transfer \`${transfer.id}\` is already running.`;
  if (!(RESUMABLE as readonly string[]).includes(transfer.status)) {
    return `Transfer \`${transfer.id}\` is ${transfer.status}; only interrupted or failed transfers can be resumed.`;
  }
  return null;
}

export function shareRefusal(actor: Actor, transfer: StoredTransfer): string | null {
  if (!canAct(actor, transfer)) return 'Only the member who started this transfer, or someone with Manage Messages, may share it.';
  if (transfer.status !== 'complete') return `Transfer \`${transfer.id}\` is ${transfer.status}; only a complete transfer can be shared.`;
  return null;
}

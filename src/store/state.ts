/** The transfer status state machine (TRANSFER_PROGRESS_FORMAT.md, 'Status'): every change goes through here. */
import { TransitionError } from '../errors.js';
import type { TransferStatus } from './schema.js';

const ALLOWED: Record<TransferStatus, readonly TransferStatus[]> = {
  pending: ['in_progress', 'cancelled', 'error'],
  in_progress: ['complete', 'error', 'cancelled', 'interrupted'],
  interrupted: ['in_progress', 'cancelled', 'error'],
  error: ['in_progress', 'cancelled'],
  complete: [],
  cancelled: [],
};

export const ACTIVE_STATUSES: readonly TransferStatus[] = ['pending', 'in_progress', 'interrupted'];
export const FINISHED_STATUSES: readonly TransferStatus[] = ['complete', 'error', 'cancelled'];

export function canTransition(from: TransferStatus, to: TransferStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(id: string, from: TransferStatus, to: TransferStatus): void {
  if (!canTransition(from, to)) {
    throw new TransitionError(`transfer ${id}: status ${from} cannot become ${to}`);
  }
}

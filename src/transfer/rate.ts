/** How fast a run moves its transfer: what the progress message, /status and the dashboard show. */
import type { StoredTransfer } from '../store/types.js';

export interface Rate {
  bytesPerSecond: number | null;
}

/** Throughput over the bytes sent in this run of the transfer (not those of earlier runs); null until there is something to measure. */
export function measureRate(transfer: StoredTransfer, runStartedAt: number, bytesAtRunStart: number, now = Date.now()): Rate {
  const seconds = (now - runStartedAt) / 1000;
  const bytes = transfer.bytes_done - bytesAtRunStart;
  return { bytesPerSecond: seconds > 0.5 && bytes > 0 ? bytes / seconds : null };
}

/** How much is done: by bytes when the size is known, else by parts. */
export function fractionDone(transfer: StoredTransfer): number {
  const size = transfer.file_size ?? 0;
  const total = transfer.total_chunks ?? 0;
  return size > 0 ? transfer.bytes_done / size : total > 0 ? transfer.completed_chunks.length / total : 0;
}

/**
 * What a /cancel does once its transfer's run has stopped (README, 'What survives what'): part
 * messages Discord stored after their upload was cut are looked for in the destination and
 * named in a note, and with `delete_posted` every part message, recorded or found, is deleted.
 */
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import { partChannelId, uniqueMessages } from './part-records.js';
import type { ChunkSink, PostedMessage } from './sink.js';

/** How long a /cancel looks in the destination for parts stored after their upload was cut. */
const STRAY_LOOKUP_MS = 30_000;

export interface CancelCleanupDeps {
  store: ProgressStore;
  sink: ChunkSink;
  log: Logger;
  deletePosted: (transfer: StoredTransfer, messages: readonly PostedMessage[]) => Promise<{ deleted: number; failed: number }>;
}

/** `cutShort`: the run's upload in flight was cut (it may still have been stored); `deletePosted`: /cancel delete_posted. */
export async function cleanUpCancelled(
  deps: CancelCleanupDeps,
  cancelled: StoredTransfer,
  options: { cutShort: boolean; deletePosted: boolean },
): Promise<{ transfer: StoredTransfer; deleted: number; deleteFailures: number }> {
  const { store } = deps;
  let transfer = cancelled;
  const stray = options.cutShort || options.deletePosted ? await unrecordedMessages(deps, transfer) : [];
  if (stray.length > 0 && !options.deletePosted) {
    transfer = await store.update(transfer.id, (t) => {
      t.notes.push(
        `Discord stored part message(s) ${stray.map((m) => m.message_id).join(', ')} after the upload was cut; they are not in the manifest`,
      );
    });
  }
  if (!options.deletePosted) return { transfer, deleted: 0, deleteFailures: 0 };
  const recorded = transfer.parts.map((p) => ({ channel_id: partChannelId(cancelled, p), message_id: p.message_id }));
  const { deleted, failed } = await deps.deletePosted(transfer, uniqueMessages([...recorded, ...stray]));
  transfer = await store.update(transfer.id, (t) => {
    t.notes.push(`deleted ${deleted} posted part message(s)${failed ? `; ${failed} failed` : ''}`);
  });
  return { transfer, deleted, deleteFailures: failed };
}

/** Part messages in the destination that the record does not know (best effort: none when it cannot be read). */
async function unrecordedMessages({ sink, log }: CancelCleanupDeps, transfer: StoredTransfer): Promise<PostedMessage[]> {
  if (!sink.reconcile) return [];
  try {
    const { found } = await sink.reconcile(transfer, AbortSignal.timeout(STRAY_LOOKUP_MS));
    const recorded = new Set(transfer.parts.map((p) => p.message_id));
    return uniqueMessages(found.filter((p) => !recorded.has(p.message_id)));
  } catch (error) {
    log.warn({ err: error, transfer_id: transfer.id }, 'could not look for unrecorded part messages');
    return [];
  }
}

/**
 * A URL transfer's run, as the runner starts it: its source, and the saving of hash
 * checkpoints as parts are confirmed, so that the next resume can use Range (url.ts explains
 * the checkpoints).
 */
import type { Logger } from '../../log.js';
import type { TransferRecord } from '../../store/schema.js';
import type { ProgressStore, StoredTransfer } from '../../store/types.js';
import type { PartSource } from '../chunker.js';
import { openUrlSource, type UrlPartSource, type UrlPartSourceOptions } from '../url/source.js';

/**
 * What a run of a URL transfer adds to the orchestrator's dependencies: the source, and the
 * saving of hash checkpoints as parts are confirmed (so the next resume can use Range).
 * The orchestrator stays unaware of them; `flush()` waits for the last checkpoint write.
 */
export function urlRunHooks(deps: { store: ProgressStore; log: Logger; options: Omit<UrlPartSourceOptions, 'signal'> }): {
  openSource: (transfer: StoredTransfer, signal: AbortSignal) => PartSource;
  onProgress: (transfer: StoredTransfer) => void;
  flush: () => Promise<void>;
} {
  let current: UrlPartSource | null = null;
  let saved = 0;
  let writes: Promise<void> = Promise.resolve();
  const write = (id: string, change: (draft: TransferRecord) => void, what: string) => {
    writes = writes.then(() =>
      deps.store.update(id, change).then(
        () => undefined,
        (err: unknown) => deps.log.warn({ err, transfer_id: id }, `could not save ${what}`),
      ),
    );
  };
  return {
    openSource(transfer, signal) {
      current = openUrlSource(transfer, { ...deps.options, signal });
      saved = transfer.source.kind === 'url' ? (transfer.source.hash_checkpoint?.offset ?? 0) : 0;
      if (transfer.parts.length > 0 && !current.canResumeWithRange()) {
        write(
          transfer.id,
          (d) =>
            void d.notes.push(
              'resume: the server gave no Range support or no ETag/Last-Modified; downloading again from byte 0 and checking the posted parts against it',
            ),
          'a note',
        );
      }
      return current;
    },
    onProgress(transfer) {
      if (!current) return;
      const end = confirmedPrefixEnd(transfer);
      if (end <= saved) return;
      const checkpoint = current.checkpointAt(end);
      if (!checkpoint) return;
      saved = end;
      write(
        transfer.id,
        (d) => {
          if (d.source.kind === 'url') d.source.hash_checkpoint = { ...checkpoint };
        },
        'a hash checkpoint',
      );
    },
    flush: () => writes,
  };
}

/** Bytes covered by the parts confirmed without a gap from part 0. */
export function confirmedPrefixEnd(transfer: StoredTransfer): number {
  const byIndex = new Map(transfer.parts.map((p) => [p.index, p]));
  let end = 0;
  for (let i = 0; i < byIndex.size; i++) {
    const part = byIndex.get(i);
    if (!part || part.offset !== end) break;
    end += part.size;
  }
  return end;
}

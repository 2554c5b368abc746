/**
 * Resume after a stop or a crash (README, 'What survives what'): at start-up, before connecting, what the
 * last process left `in_progress` becomes `interrupted`; once connected, with AUTO_RESUME,
 * the interrupted transfers and those a crash caught between being recorded and starting
 * (`pending`) are started again. The runner (src/transfer/runner.ts) does the starting.
 */
import { DiskWriteError } from '../../errors.js';
import type { ProgressStore } from '../../store/types.js';

/**
 * Marks what a crash left running as interrupted; resolves with their ids. A change the disk
 * refuses is held by the store and written once it can: the transfer is interrupted all the
 * same (as the store's view says), and the bot must start rather than stop over it.
 */
export async function markInterrupted(store: ProgressStore): Promise<string[]> {
  const ids: string[] = [];
  for (const t of store.summaries()) {
    if (t.status === 'in_progress') {
      try {
        await store.setStatus(t.id, 'interrupted', `interrupted: the bot stopped at ${t.updated_at} while it ran`);
      } catch (error) {
        if (!(error instanceof DiskWriteError && error.kept)) throw error;
      }
      ids.push(t.id);
    }
  }
  return ids;
}

/** The transfers a start-up resumes by itself. */
export function resumableAtStart(store: ProgressStore): string[] {
  return store
    .summaries()
    .filter((t) => t.status === 'interrupted' || t.status === 'pending')
    .map((t) => t.id);
}

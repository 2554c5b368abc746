/**
 * Resuming a URL transfer (`/upload`) without downloading again what is already posted.
 *
 * The orchestrator wants the sha256 of every byte, but a resume with a Range request never
 * sees the bytes before the range. So the whole-file hash runs on ResumableSha256, and its
 * state at a part boundary is saved in the record (`source.hash_checkpoint`, by urlRunHooks
 * in url-checkpoints.ts, once every part before that boundary is confirmed). A resume then
 * asks for `Range: bytes=<checkpoint>-` with `If-Range` (the ETag, else Last-Modified),
 * restores the hash state and replays the confirmed parts before the checkpoint from their
 * records (no data: the orchestrator skips them), so only the rest is downloaded (the
 * download itself is url/source.ts). Without Range support, a usable validator or a
 * checkpoint, it reads again from byte 0 and the orchestrator compares the posted parts'
 * hashes, as for files. A changed ETag / Last-Modified / size ends the transfer in `error`:
 * never a mixed file.
 */
import type { UrlSource } from '../../store/schema.js';
import type { StoredTransfer } from '../../store/types.js';
import type { SourcePart } from '../chunker.js';
import { ResumableSha256 } from '../resumable-hash.js';

export interface HashCheckpoint {
  offset: number; // bytes: a part boundary
  state: string; // ResumableSha256.exportState()
}

/** Checkpoints kept in memory for parts read but not yet confirmed; the read-ahead is a few messages. */
const MAX_PENDING_CHECKPOINTS = 256;

/** If-Range needs a strong ETag or a Last-Modified date. */
export function ifRangeValidator(source: UrlSource): string | null {
  const { etag, last_modified } = source;
  if (etag && !etag.startsWith('W/')) return etag;
  return last_modified;
}

/** Whether a resume can skip the confirmed parts with a Range request (given a checkpoint). */
export function canResumeWithRange(source: UrlSource): boolean {
  return source.accepts_ranges && ifRangeValidator(source) !== null;
}

/** The checkpoint to resume from: only with Range support, a validator, and every part before it confirmed. */
export function urlResumePoint(transfer: StoredTransfer): HashCheckpoint | null {
  if (transfer.source.kind !== 'url' || !canResumeWithRange(transfer.source)) return null;
  return usableCheckpoint(transfer, transfer.source.hash_checkpoint);
}

/** `checkpoint` when every part before it is recorded and they end exactly at it, and its state restores; else null. */
export function usableCheckpoint(transfer: StoredTransfer, checkpoint: HashCheckpoint | null): HashCheckpoint | null {
  if (!checkpoint || checkpoint.offset <= 0) return null;
  const byIndex = new Map(transfer.parts.map((p) => [p.index, p]));
  // The parts before the checkpoint must all be recorded, and end exactly at it.
  let end = 0;
  for (let i = 0; end < checkpoint.offset; i++) {
    const part = byIndex.get(i);
    if (!part || part.offset !== end) return null;
    end += part.size;
  }
  if (end !== checkpoint.offset) return null;
  try {
    ResumableSha256.restore(checkpoint.state);
  } catch {
    return null;
  }
  return checkpoint;
}

/** The parts before `offset`, confirmed in an earlier run, replayed from their records (no data). */
export function* confirmedPartsBefore(transfer: StoredTransfer, offset: number): Generator<SourcePart> {
  for (const part of [...transfer.parts].sort((a, b) => a.index - b.index)) {
    if (part.offset >= offset) break;
    yield { index: part.index, offset: part.offset, size: part.size, sha256: part.sha256, data: Buffer.alloc(0) };
  }
}

/**
 * The hash state after each part boundary a run has read, held until the parts up to it are
 * confirmed and urlRunHooks saves it.
 */
export class PendingCheckpoints {
  readonly #states = new Map<number, string>();

  remember(offset: number, state: string): void {
    this.#states.set(offset, state);
    // Bounded even if nobody asks for checkpoints (the CLI, tests).
    if (this.#states.size > MAX_PENDING_CHECKPOINTS) {
      const oldest = this.#states.keys().next().value;
      if (oldest !== undefined) this.#states.delete(oldest);
    }
  }

  /** The saved hash state after the byte `offset` (a part boundary this run read), if still held. */
  at(offset: number): HashCheckpoint | null {
    const state = this.#states.get(offset);
    for (const key of this.#states.keys()) if (key < offset) this.#states.delete(key);
    return state === undefined ? null : { offset, state };
  }
}

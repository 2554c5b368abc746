/**
 * Resume, step one: before a resumed run sends anything, what the destination really holds
 * is compared with the record (README, 'What survives what'). A recorded part whose message is gone is
 * dropped from the record and sent again; a part the destination stored but the bot never
 * recorded (killed between Discord's answer and the write) is recorded, not posted again;
 * a manifest posted but never recorded means the commit point was already passed.
 *
 * Reading the destination is the sink's job (src/discord/sink.ts lists the bot's own
 * messages in the channel); deciding what that means for the record is done here.
 */
import type { PartRecord, TransferRecord } from '../../store/schema.js';
import type { StoredTransfer } from '../../store/types.js';
import { dropParts } from '../part-records.js';
import type { PostedManifest, PostedPart, Reconciled } from '../sink.js';

/** A run reconciles when it picks up earlier work: parts recorded, or a run that was cut off. */
export function needsReconcile(transfer: StoredTransfer, wasInterrupted: boolean): boolean {
  return transfer.parts.length > 0 || wasInterrupted;
}

/**
 * What the destination holds (`seen`: each planned part found there, by index), measured
 * against the record: recorded parts not seen are missing; parts seen but not recorded, or
 * recorded under other ids, are found.
 */
export function compareWithRecord(transfer: StoredTransfer, seen: ReadonlyMap<number, PostedPart>, manifest: Reconciled['manifest']): Reconciled {
  const recorded = new Map(transfer.parts.map((p) => [p.index, p]));
  const missing = [...recorded.keys()].filter((i) => !seen.has(i));
  const found = [...seen.values()].filter((p) => {
    const r = recorded.get(p.index);
    return !r || r.message_id !== p.message_id || r.attachment_id !== p.attachment_id;
  });
  return { missing, found, manifest: transfer.manifest_message_id ? null : (manifest ?? null) };
}

export interface ResumePlan {
  /** Parts posted but unrecorded, by index: recorded when the stream reaches them. */
  found: Map<number, PostedPart>;
  /** The manifest found posted but unrecorded. */
  manifest: PostedManifest | null;
  /** Recorded parts that are gone: dropped from the record (`dropMissing`) and sent again. */
  dropped: PartRecord[];
}

export function planResume(transfer: StoredTransfer, reconciled: Reconciled): ResumePlan {
  const missing = new Set(reconciled.missing);
  const recorded = new Set(transfer.parts.map((p) => p.index));
  const found = new Map<number, PostedPart>();
  for (const posted of reconciled.found) if (!recorded.has(posted.index)) found.set(posted.index, posted);
  const dropped = transfer.parts.filter((p) => missing.has(p.index)) as PartRecord[];
  return { found, manifest: reconciled.manifest ?? null, dropped };
}

/** The record change for `plan.dropped`, with the note users see. */
export function dropMissing(plan: ResumePlan): (draft: TransferRecord) => void {
  const indices = new Set(plan.dropped.map((p) => p.index));
  return (draft) => {
    dropParts(draft, indices);
    draft.notes.push(`resume: ${plan.dropped.length} posted part(s) no longer found, sending again: ${plan.dropped.map((p) => p.name).join(', ')}`);
  };
}

/**
 * The record logic both progress stores share, so the memory and file versions cannot
 * drift apart: building a new record, applying a change (state machine + schema check),
 * and choosing what to prune.
 */
import { assertTransition, FINISHED_STATUSES } from './state.js';
import { transferSchema, type TransferRecord } from './schema.js';
import type { NewTransfer, TransferSummary } from './types.js';

/** How many schema problems an error message names before "and N more". */
const MAX_PROBLEMS_SHOWN = 5;

/** The record failed the schema after a change; nothing was stored. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
}

/** `path.to.field: message` for the first few zod issues. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const shown = issues.slice(0, MAX_PROBLEMS_SHOWN).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

function validate(record: unknown, id: string): TransferRecord {
  const parsed = transferSchema.safeParse(record);
  if (!parsed.success) {
    throw new InvalidRecordError(`transfer ${id}: invalid record: ${describeIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

export function summarize(r: TransferRecord): TransferSummary {
  return {
    id: r.id,
    status: r.status,
    file_name: r.file_name,
    owner_id: r.owner_id,
    guild_id: r.guild_id,
    channel_id: r.channel_id,
    total_chunks: r.total_chunks,
    created_at: r.created_at,
    updated_at: r.updated_at,
    parts_done: r.completed_chunks.length,
  };
}

export function unknownTransfer(id: string): Error {
  return new Error(`unknown transfer ${id}`);
}

/**
 * `updated_at` doubles as the record's version for stale-write detection, so it must move
 * forward on every change even when two changes land in the same millisecond.
 */
function nextUpdatedAt(previous: string | undefined, now: Date): string {
  const prev = previous === undefined ? Number.NEGATIVE_INFINITY : Date.parse(previous);
  const t = Math.max(now.getTime(), prev + 1);
  return new Date(t).toISOString();
}

/** A fresh `pending` record from the caller's fields, with schema defaults filled in. */
export function buildNewRecord(input: NewTransfer, now: Date): TransferRecord {
  const at = now.toISOString();
  const draft = {
    ...structuredClone(input),
    status: 'pending',
    created_at: at,
    updated_at: at,
    completed_chunks: [],
    parts: [],
    chunk_attempts: {},
    notes: input.notes ? [...input.notes] : [],
  };
  return validate(draft, input.id);
}

/**
 * Applies `change` to a deep copy of `current` and returns the new record; `current` is
 * never touched, so a refused change (bad transition, schema failure, throw inside
 * `change`) leaves the stored record as it was.
 */
export function applyChange(
  current: TransferRecord,
  change: (draft: TransferRecord) => void,
  now: Date,
): TransferRecord {
  const draft = structuredClone(current);
  change(draft);
  if (draft.id !== current.id) {
    throw new InvalidRecordError(`transfer ${current.id}: the id cannot be changed (to ${String(draft.id)})`);
  }
  if (draft.status !== current.status) {
    assertTransition(current.id, current.status, draft.status);
    // Filled only when the caller left them empty, so an orchestrator may set its own.
    if (draft.status === 'in_progress' && draft.started_at === null) draft.started_at = now.toISOString();
    if (draft.status === 'complete' && draft.completed_at === null) draft.completed_at = now.toISOString();
  }
  draft.updated_at = nextUpdatedAt(current.updated_at, now);
  return validate(draft, current.id);
}

/** The change `setStatus` makes: a status through the state machine, plus an optional note. */
export function statusChange(status: TransferRecord['status'], note?: string): (draft: TransferRecord) => void {
  return (draft) => {
    draft.status = status;
    if (note !== undefined) draft.notes.push(note);
  };
}

/** Ids of finished transfers whose last change is more than `olderThanMs` before `now`. */
export function idsToPrune(records: Iterable<TransferRecord>, olderThanMs: number, now: Date): string[] {
  const cutoff = now.getTime() - olderThanMs;
  const ids: string[] = [];
  for (const record of records) {
    if (FINISHED_STATUSES.includes(record.status) && Date.parse(record.updated_at) < cutoff) ids.push(record.id);
  }
  return ids;
}

/**
 * The record logic both progress stores share, so the memory and file versions cannot
 * drift apart: building a new record, applying a change (state machine + schema check),
 * and choosing what to prune.
 */
import { DuplicateTransferError, InvalidRecordError, UnknownTransferError } from '../errors.js';
import { assertTransition, FINISHED_STATUSES } from './state.js';
import { transferSchema, type PartRecord, type TransferRecord } from './schema.js';
import type { NewTransfer, TransferSummary } from './types.js';

/** How many schema problems an error message names before "and N more". */
const MAX_PROBLEMS_SHOWN = 5;

/** `path.to.field: message` for the first few zod issues. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const shown = issues.slice(0, MAX_PROBLEMS_SHOWN).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * Records are immutable once stored: frozen, shared with callers (no copy per read) and with
 * the next version of themselves. A change copies the record one level deep, so its unchanged
 * parts stay the same objects, and only what changed is validated and frozen. An update thus
 * costs in proportion to what it changes, not to the transfer's part count: deep-copying and
 * re-validating every part on every update made a 5,000-part transfer spend ~17 ms of CPU per
 * message and churned enough short-lived copies to grow the bot's peak RSS with file size.
 */
const validatedParts = new WeakSet<object>();

/**
 * Freezes `value` and what it holds, stopping at what is already frozen (shared parts).
 * Arrays are walked by index: `for…in` would make a string per element on every update.
 */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) deepFreeze(item);
    }
  } else {
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** Makes a schema-checked record immutable and remembers its parts as checked. */
export function sealRecord(record: TransferRecord): TransferRecord {
  for (const part of record.parts) validatedParts.add(part);
  // Attempt counts are numbers: freeze the object without visiting its thousands of keys.
  Object.freeze(record.chunk_attempts);
  return deepFreeze(record);
}

function validate(record: unknown, id: string): TransferRecord {
  const parsed = transferSchema.safeParse(record);
  if (!parsed.success) {
    throw new InvalidRecordError(`transfer ${id}: invalid record: ${describeIssues(parsed.error.issues)}`);
  }
  return sealRecord(parsed.data);
}

/**
 * Checks `draft` against the schema, re-checking only parts, attempt counts and appended
 * indices that are not already in a checked record (unchanged parts are the same frozen
 * objects as in `current`).
 */
function validateChange(draft: TransferRecord, current: TransferRecord, drafted: Draft): TransferRecord {
  const fresh: PartRecord[] = [];
  const freshAt: number[] = [];
  draft.parts.forEach((part, at) => {
    if (!validatedParts.has(part)) {
      fresh.push(part);
      freshAt.push(at);
    }
  });
  // Attempt counts edited through the draft: check the keys touched; replaced wholesale: all.
  const own = draft.chunk_attempts === drafted.attemptsProxy;
  const attempts = own ? drafted.attempts : draft.chunk_attempts;
  const changedAttempts: Record<string, unknown> = {};
  for (const key of own ? drafted.touched : Object.keys(attempts)) {
    if (Object.hasOwn(attempts, key)) changedAttempts[key] = attempts[key];
  }
  // Indices are mostly appended: then only the new ones need checking.
  const chunks = draft.completed_chunks;
  const before = current.completed_chunks;
  let appended = chunks.length >= before.length;
  for (let i = 0; appended && i < before.length; i++) appended = chunks[i] === before[i];
  const chunksFrom = appended ? before.length : 0;
  const parsed = transferSchema.safeParse({
    ...draft,
    parts: fresh,
    chunk_attempts: changedAttempts,
    completed_chunks: chunksFrom > 0 ? chunks.slice(chunksFrom) : chunks,
  });
  if (!parsed.success) {
    // Name each bad item by its place in the record, not among the re-checked ones.
    const issues = parsed.error.issues.map((issue) => {
      const [field, at] = issue.path;
      if (typeof at !== 'number') return issue;
      if (field === 'parts') return { ...issue, path: ['parts', freshAt[at] ?? at, ...issue.path.slice(2)] };
      if (field === 'completed_chunks') return { ...issue, path: ['completed_chunks', chunksFrom + at, ...issue.path.slice(2)] };
      return issue;
    });
    throw new InvalidRecordError(`transfer ${current.id}: invalid record: ${describeIssues(issues)}`);
  }
  const checked = parsed.data;
  let next = 0;
  checked.parts = draft.parts.map((part) => (validatedParts.has(part) ? part : checked.parts[next++]!));
  // The unchanged entries were checked before and the changed ones just now; zod changes none.
  checked.chunk_attempts = attempts;
  checked.completed_chunks = chunks;
  return sealRecord(checked);
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

export function unknownTransfer(id: string): UnknownTransferError {
  return new UnknownTransferError(id);
}

/** What `create` throws when the store already holds a transfer with that id. */
export function duplicateTransfer(id: string): DuplicateTransferError {
  return new DuplicateTransferError(id);
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

/** A copy of `current` that a change may edit: every array and object in it is its own. */
interface Draft {
  draft: TransferRecord;
  /** The draft's own attempt counts, and the keys a change set or deleted through the draft. */
  attempts: Record<string, number>;
  attemptsProxy: Record<string, number>;
  touched: Set<string>;
}

/**
 * A copy of `current` that a change may edit: every array and object in it is its own. The
 * attempt counts are watched, so a check need not compare thousands of them on every update.
 */
function draftOf(current: TransferRecord): Draft {
  const attempts = { ...current.chunk_attempts };
  const touched = new Set<string>();
  const attemptsProxy = new Proxy(attempts, {
    set(target, key, value) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.set(target, key, value);
    },
    defineProperty(target, key, descriptor) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.defineProperty(target, key, descriptor);
    },
    deleteProperty(target, key) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.deleteProperty(target, key);
    },
  });
  const draft = {
    ...current,
    source: structuredClone(current.source),
    completed_chunks: [...current.completed_chunks],
    parts: [...current.parts],
    chunk_attempts: attemptsProxy,
    notes: [...current.notes],
    threads: current.threads.map((thread) => ({ ...thread })),
  };
  return { draft, attempts, attemptsProxy, touched };
}

/**
 * Applies `change` to a copy of `current` and returns the new, frozen record; `current` is
 * never touched, so a refused change (bad transition, schema failure, throw inside
 * `change`) leaves the stored record as it was. The copy shares `current`'s part records,
 * which are frozen: a change replaces a part, it cannot edit one in place.
 */
export function applyChange(current: TransferRecord, change: (draft: TransferRecord) => void, now: Date): TransferRecord {
  const drafted = draftOf(current);
  const draft = drafted.draft;
  change(draft);
  if (draft.id !== current.id) {
    throw new InvalidRecordError(`transfer ${current.id}: the id cannot be changed (to ${draft.id})`);
  }
  if (draft.status !== current.status) {
    assertTransition(current.id, current.status, draft.status);
    // Filled only when the caller left them empty, so an orchestrator may set its own.
    if (draft.status === 'in_progress' && draft.started_at === null) draft.started_at = now.toISOString();
    if (draft.status === 'complete' && draft.completed_at === null) draft.completed_at = now.toISOString();
    // Nothing can resume any more: the keys that made its parts go (TRANSFER_PROGRESS_FORMAT.md, 'Encryption').
    if ((draft.status === 'complete' || draft.status === 'cancelled') && draft.encryption) {
      draft.encryption = { ...draft.encryption, file_key: null, payload_nonce: null, header: null };
    }
  }
  draft.updated_at = nextUpdatedAt(current.updated_at, now);
  return validateChange(draft, current, drafted);
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

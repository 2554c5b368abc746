/** A transfer's part records: made from what was sent and what the destination answered, kept sorted. */
import type { PartRecord, TransferRecord } from '../store/schema.js';
import type { StoredTransfer } from '../store/types.js';
import type { OutgoingPart, PostedMessage, PostedPart } from './sink.js';

/** The channel or thread a part's message is in: its own record's, else (an older record) the transfer's. */
export function partChannelId(transfer: Pick<StoredTransfer, 'channel_id'>, part: { readonly channel_id?: string | null | undefined }): string {
  return part.channel_id ?? transfer.channel_id;
}

/** The transfer's own thread (lane 0), where its parts and manifest go; none: they go to its channel. */
export function ownThread(transfer: Pick<StoredTransfer, 'threads'>): { readonly id: string; readonly lane: number } | undefined {
  return transfer.threads.find((t) => t.lane === 0);
}

/** Where a transfer's next messages (parts, manifest) are posted: its own thread, else its channel. */
export function postingChannelId(transfer: Pick<StoredTransfer, 'channel_id' | 'threads'>): string {
  return ownThread(transfer)?.id ?? transfer.channel_id;
}

/**
 * The channels a transfer's parts are posted through, lane by lane (README, 'Lanes'): its own
 * thread and its other recorded lanes below `lanes` (MAX_PARALLEL_UPLOADS; those above it, from
 * a run with more, keep their parts but get no new ones); without a thread of its own, its channel.
 */
export function laneChannelIds(transfer: Pick<StoredTransfer, 'channel_id' | 'threads'>, lanes: number): string[] {
  if (!ownThread(transfer)) return [transfer.channel_id];
  return transfer.threads
    .filter((t) => t.lane < Math.max(1, lanes))
    .sort((a, b) => a.lane - b.lane)
    .map((t) => t.id);
}

/** The channel or thread a transfer's progress message is in: a forum post's own thread, else (and in a record from before it was kept) the transfer's channel. */
export function progressChannelId(transfer: Pick<StoredTransfer, 'channel_id' | 'progress_channel_id'>): string {
  return transfer.progress_channel_id ?? transfer.channel_id;
}

/** The channel or thread a transfer's manifest message is in (a record from before it was kept: the transfer's channel). */
export function manifestChannelId(transfer: Pick<StoredTransfer, 'channel_id' | 'manifest_channel_id'>): string {
  return transfer.manifest_channel_id ?? transfer.channel_id;
}

/**
 * Every channel a transfer's messages may be in: its channel, the threads the bot made for it,
 * and any other channel a part or the manifest was recorded in; each once, the channel first.
 */
export function transferChannelIds(transfer: Pick<StoredTransfer, 'channel_id' | 'threads' | 'parts' | 'manifest_channel_id'>): string[] {
  const ids = new Set([transfer.channel_id, ...transfer.threads.map((t) => t.id)]);
  if (transfer.manifest_channel_id !== null) ids.add(transfer.manifest_channel_id);
  for (const part of transfer.parts) if (part.channel_id !== undefined) ids.add(part.channel_id);
  return [...ids];
}

/** Each message once (several parts share one), keeping the first channel it was seen in. */
export function uniqueMessages(messages: readonly PostedMessage[]): PostedMessage[] {
  const byId = new Map<string, PostedMessage>();
  for (const m of messages) if (!byId.has(m.message_id)) byId.set(m.message_id, { channel_id: m.channel_id, message_id: m.message_id });
  return [...byId.values()];
}

export function toRecord(
  part: Pick<OutgoingPart, 'index' | 'name' | 'offset' | 'size' | 'sha256'>,
  ids: Pick<PostedPart, 'message_id' | 'attachment_id' | 'channel_id'>,
): PartRecord {
  return {
    index: part.index,
    name: part.name,
    offset: part.offset,
    size: part.size,
    sha256: part.sha256,
    message_id: ids.message_id,
    attachment_id: ids.attachment_id,
    channel_id: ids.channel_id,
  };
}

/**
 * Adds (or replaces) a part record, keeping parts and completed_chunks sorted and bytes_done
 * true. Parts mostly arrive in order, so that case appends without touching the rest: this
 * runs on every message, and a pass over every part each time made a transfer's cost grow
 * with the square of its part count.
 */
export function addPart(draft: TransferRecord, record: PartRecord): void {
  const last = draft.parts.at(-1);
  if (last === undefined || last.index < record.index) {
    draft.parts.push(record);
    draft.bytes_done += record.size;
  } else {
    draft.parts = draft.parts.filter((p) => p.index !== record.index);
    draft.parts.push(record);
    draft.parts.sort((a, b) => a.index - b.index);
    draft.bytes_done = sumSizes(draft.parts);
  }
  const chunks = draft.completed_chunks;
  const lastIndex = chunks.at(-1);
  if (lastIndex === undefined || lastIndex < record.index) chunks.push(record.index);
  else if (!chunks.includes(record.index)) {
    chunks.push(record.index);
    chunks.sort((a, b) => a - b);
  }
}

function sumSizes(parts: readonly { size: number }[]): number {
  return parts.reduce((sum, p) => sum + p.size, 0);
}

/** Drops the records of parts at `indices` (gone from the destination: they will be sent again). */
export function dropParts(draft: TransferRecord, indices: ReadonlySet<number>): void {
  draft.parts = draft.parts.filter((p) => !indices.has(p.index));
  draft.completed_chunks = draft.completed_chunks.filter((i) => !indices.has(i));
  draft.bytes_done = sumSizes(draft.parts);
}

/**
 * What the web page shows of a transfer, computed once on the server for the first render
 * and for every live update (the page's script draws the same fields), and which transfers a
 * session may see: their own; with Manage Messages, every transfer of the guild (README, 'The web page').
 */
import type { StoredTransfer, TransferSummary } from '../store/types.js';
import { cancelRefusal, resumeRefusal, shareRefusal, type Actor } from '../transfer/control.js';
import { manifestChannelId, progressChannelId } from '../transfer/part-records.js';
import { fractionDone } from '../transfer/rate.js';
import type { Session } from './auth.js';

export interface TransferView {
  id: string;
  fileName: string;
  status: StoredTransfer['status'];
  percent: number; // 0–100, one decimal
  partsDone: number;
  totalParts: number | null;
  bytesDone: number;
  fileSize: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  retries: number;
  lastNote: string | null;
  /** Sent from a member's computer, and its run has waited a while for the sender's bytes (status stays `in_progress`). */
  waitingForSender: boolean;
  canCancel: boolean;
  canResume: boolean;
  /** May ask for a download link (complete, and theirs or Manage Messages). */
  canShare: boolean;
  progressUrl: string | null;
  manifestUrl: string | null;
  /** The threads the bot made for its parts (its own first, then its lanes), where a member finds them in Discord. */
  threadUrls: string[];
  updatedAt: string;
}

/** One character per part: `.` not yet, `>` on its way, `1`–`9` posted after that many attempts (9: nine or more). */
type PartMap = string;

export interface TransferDetail extends TransferView {
  chunkSize: number;
  parts: PartMap;
  /** [ms since the epoch, bytes done], oldest first. */
  samples: [number, number][];
}

/** What the runner tells the page about a transfer it is running. */
export interface LiveState {
  isRunning(id: string): boolean;
  throughput(id: string): number | null;
  inFlight(id: string): number[];
  waiting(id: string): boolean;
}

/** Whether the session's member may see the transfer (else it is a 404, as an unknown id). */
export function canSee(session: Session, transfer: Pick<TransferSummary, 'owner_id' | 'guild_id'>): boolean {
  if (transfer.owner_id === session.actor.userId) return true;
  return session.actor.mayActOnOthers && session.guildId !== null && transfer.guild_id === session.guildId;
}

/** The transfers a session sees, the most recently changed first. */
export function visibleSummaries(summaries: readonly TransferSummary[], session: Session, limit = 200): TransferSummary[] {
  return summaries
    .filter((t) => canSee(session, t))
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
    .slice(0, limit);
}

export function transferView(t: StoredTransfer, actor: Actor, live: LiveState): TransferView {
  const running = live.isRunning(t.id);
  const bytesPerSecond = running ? live.throughput(t.id) : null;
  const left = t.file_size === null ? null : t.file_size - t.bytes_done;
  return {
    id: t.id,
    fileName: t.file_name,
    status: t.status,
    percent: Math.round(fractionDone(t) * 1000) / 10,
    partsDone: t.completed_chunks.length,
    totalParts: t.total_chunks,
    bytesDone: t.bytes_done,
    fileSize: t.file_size,
    bytesPerSecond,
    etaSeconds: bytesPerSecond && left !== null && t.status === 'in_progress' ? Math.max(0, Math.round(left / bytesPerSecond)) : null,
    retries: t.retries,
    lastNote: t.notes.at(-1) ?? null,
    waitingForSender: running && live.waiting(t.id),
    canCancel: cancelRefusal(actor, t) === null,
    canResume: resumeRefusal(actor, t, running) === null,
    canShare: shareRefusal(actor, t) === null,
    progressUrl: messageUrl(t, progressChannelId(t), t.progress_message_id),
    manifestUrl: messageUrl(t, manifestChannelId(t), t.manifest_message_id),
    threadUrls: t.guild_id ? [...t.threads].sort((a, b) => a.lane - b.lane).map(({ id }) => `https://discord.com/channels/${t.guild_id}/${id}`) : [],
    updatedAt: t.updated_at,
  };
}

export function transferDetail(t: StoredTransfer, actor: Actor, live: LiveState, samples: [number, number][]): TransferDetail {
  return { ...transferView(t, actor, live), chunkSize: t.chunk_size_bytes, parts: partMap(t, live.inFlight(t.id)), samples: lifeSamples(t, samples) };
}

/** The samples taken while it ran; for one that ran before anyone sampled it (the bot restarted since), its start and end. */
function lifeSamples(t: StoredTransfer, samples: [number, number][]): [number, number][] {
  if (samples.length >= 2 || !t.started_at || !t.completed_at) return samples;
  return [
    [Date.parse(t.started_at), 0],
    [Date.parse(t.completed_at), t.bytes_done],
  ];
}

function partMap(t: StoredTransfer, inFlight: readonly number[]): PartMap {
  const known = Math.max(t.total_chunks ?? 0, (t.parts.at(-1)?.index ?? -1) + 1, Math.max(-1, ...inFlight) + 1);
  const cells = new Array<string>(known).fill('.');
  for (const index of inFlight) cells[index] = '>';
  for (const index of t.completed_chunks) {
    const attempts = t.chunk_attempts[String(index)] ?? 1;
    cells[index] = String(Math.min(9, Math.max(1, attempts)));
  }
  return cells.join('');
}

function messageUrl(t: StoredTransfer, channelId: string, messageId: string | null): string | null {
  return messageId && t.guild_id ? `https://discord.com/channels/${t.guild_id}/${channelId}/${messageId}` : null;
}

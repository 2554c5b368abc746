/**
 * Where parts go: a Discord channel or a local directory. The orchestrator talks only to
 * this interface; failures are thrown as SinkError so it knows whether to retry.
 */
import type { Manifest } from './manifest.js';
import type { TransferRecord } from '../store/schema.js';

export interface OutgoingPart {
  index: number; // 0-based
  name: string; // attachment file name, e.g. movie.mkv.part001
  offset: number;
  size: number;
  sha256: string;
  data: Buffer;
}

export interface PostedPart {
  index: number;
  message_id: string;
  attachment_id: string;
}

export interface SendOptions {
  signal: AbortSignal;
  /** Stable for one batch across retries (≤ 25 characters) so Discord drops a duplicate. */
  nonce: string;
  attempt: number; // 1-based
}

export interface Reconciled {
  /** Recorded parts whose message is gone. */
  missing: number[];
  /** Parts posted but not recorded (or recorded with other ids). */
  found: PostedPart[];
  /** The manifest, when it was posted but never recorded (the bot died at the commit point). */
  manifest?: { message_id: string; attachment_id: string } | null;
}

export interface ChunkSink {
  /** Posts one message carrying `parts` (already packed by the orchestrator). */
  sendParts(transfer: TransferRecord, parts: OutgoingPart[], options: SendOptions): Promise<PostedPart[]>;
  /** Posts the manifest: the commit point of a transfer. */
  sendManifest(
    transfer: TransferRecord,
    manifest: Manifest,
    options: Omit<SendOptions, 'attempt'> & { attempt: number },
  ): Promise<{ message_id: string; attachment_id: string }>;
  /**
   * Before a resume: which recorded parts are really still there, and which parts were
   * posted but never recorded (a crash between the answer and the write). Optional.
   */
  reconcile?(transfer: TransferRecord, signal: AbortSignal): Promise<Reconciled>;
}

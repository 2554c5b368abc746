/**
 * Where parts go: a Discord channel or a local directory. The orchestrator talks only to
 * this interface; failures are thrown as SinkError so it knows whether to retry.
 */
import { SinkError } from '../errors.js';
import type { Manifest } from './manifest.js';
import type { TransferRecord } from '../store/schema.js';
import type { FileRange } from './chunker.js';

/**
 * One part to post. A file source hands on `file` (a file-backed Blob slice, read while it is
 * sent) and no bytes, so a part waiting for its upload costs no memory; other sources hand
 * on `data`. A sink takes whichever is there (`partBlob`, `partBytes`).
 */
export interface OutgoingPart {
  index: number; // 0-based
  name: string; // attachment file name, e.g. movie.mkv.part001
  offset: number;
  size: number;
  sha256: string;
  data?: Buffer | undefined;
  file?: FileRange | undefined;
}

/** The part as a Blob for a request body: the file-backed slice when there is one, else a Blob of `data`. */
export function partBlob(part: OutgoingPart): Blob {
  if (part.file) return part.file.blob;
  if (part.data) return new Blob([part.data]);
  throw new Error(`part ${part.name} carries neither bytes nor a file range`);
}

/** Streams the part's bytes in pieces, never the whole part at once when it is file-backed. */
export async function* partChunks(part: OutgoingPart): AsyncGenerator<Uint8Array> {
  if (part.data) {
    yield part.data;
    return;
  }
  // A web ReadableStream is async-iterable in Node; the DOM lib typing lacks it.
  yield* partBlob(part).stream() as unknown as AsyncIterable<Uint8Array>;
}

/**
 * Node refuses to read a file-backed Blob whose file changed size or mtime since it was
 * opened (before the part was hashed): such a failure means the source changed, and sending
 * it again cannot help.
 */
export function isSourceChanged(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === 'NotReadableError') return true;
  }
  return false;
}

export function sourceChangedError(cause: unknown, parts: readonly OutgoingPart[] = []): SinkError {
  const path = parts.find((p) => p.file)?.file?.path;
  return new SinkError(
    `${path ?? 'the source file'} was modified while it was sent: its size or modification time no longer match the bytes that were hashed`,
    'fatal',
    'source_changed',
    { cause },
  );
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
  reconcile?(transfer: TransferRecord, signal: AbortSignal): Promise<{ missing: number[]; found: PostedPart[] }>;
}

/**
 * Where parts go: a Discord channel or a local directory. The orchestrator talks only to
 * this interface; failures are thrown as SinkError so it knows whether to retry.
 */
import type { StoredTransfer } from '../store/types.js';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { errnoCode, findCause, messageOf, SinkError } from '../errors.js';
import { sourceHandle } from '../crypto/sealed-file.js';
import { readFully } from '../fs/read-fully.js';
import type { Manifest } from './manifest.js';

import type { FileRange } from './chunker.js';

/**
 * One part to post. A file source hands on `file` (a range of the file, read while it is
 * sent) and no bytes, so a part waiting for its upload costs no memory; other sources hand
 * on `data`. A sink takes whichever is there (`partChunks`).
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

/** Read size for a file-backed part's bytes when the caller lends no buffers; a file-backed Blob's stream() reads 64 KiB at a time, ~3× slower. */
const DEFAULT_READ_SIZE = 4 * 1024 * 1024; // bytes

/**
 * The part's bytes in pieces, never the whole part at once when it is file-backed. Pieces
 * are read into `buffers` in turn (by default one buffer of at most 4 MiB), so a piece is
 * valid only until `buffers.length` more have been pulled. The file must still be the one
 * whose bytes were hashed (same device, inode, size and mtime), checked before and after
 * reading, and the pieces are hashed as they go out: after the last one, a hash other than
 * `part.sha256` throws SinkError `source_changed` instead of ending, so a sink that writes
 * the pieces into a request or a temp file fails before finishing it (before a multipart
 * body's closing boundary, before a rename): the bytes sent are the bytes hashed.
 */
export async function* partChunks(part: OutgoingPart, buffers?: readonly Buffer[]): AsyncGenerator<Uint8Array> {
  if (part.data) {
    yield part.data;
    return;
  }
  const file = part.file;
  if (!file) throw new Error(`part ${part.name} carries neither bytes nor a file range`);
  const opened = await open(file.path, 'r').catch((err: unknown) => {
    // Gone is changed (never worth a retry); Node's message would carry the host path.
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SinkError(`${file.name} no longer exists`, 'fatal', 'source_changed', { cause: err });
    throw new SinkError(`cannot open ${file.name}: ${code ?? messageOf(err)}`, 'transient', 'source_read', { cause: err });
  });
  // An encrypted part is sealed again as it is read, from the chunk it starts in.
  const handle = sourceHandle(opened, file.sealed);
  try {
    const check = async () => {
      const info = await handle.stat();
      const same = info.dev === file.dev && info.ino === file.ino && info.size === file.fileSize && info.mtimeMs === file.mtimeMs;
      if (!same) throw sourceChangedError(undefined, [part]);
    };
    await check();
    // Catches what the checks cannot: bytes rewritten in place with the size and mtime put back.
    // An encrypted part is checked by its chunks' tags instead (SourceHandle.rangeTag): equal
    // tags are equal ciphertext, and every byte of it is not hashed a second time.
    const byTag = file.tag !== undefined && handle.rangeTag !== undefined;
    const sent = byTag ? null : createHash('sha256');
    const ring = buffers !== undefined && buffers.length > 0 ? buffers : [Buffer.allocUnsafe(Math.min(DEFAULT_READ_SIZE, file.size))];
    for (let at = 0, reads = 0; at < file.size; reads++) {
      const buffer = ring[reads % ring.length]!;
      const want = Math.min(buffer.length, file.size - at);
      const got = await readFully(handle, buffer, 0, want, file.offset + at);
      if (got < want) throw sourceChangedError(undefined, [part]);
      const piece = buffer.subarray(0, want);
      sent?.update(piece);
      yield piece;
      at += want;
    }
    await check();
    const same = sent === null ? handle.rangeTag?.(file.offset, file.size) === file.tag : sent.digest('hex') === part.sha256;
    if (!same) {
      throw new SinkError(
        `${file.name} changed while it was sent: the bytes read for ${part.name} do not match the hash recorded for them`,
        'fatal',
        'source_changed',
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reading a part refuses once the file's size or mtime differ from those taken before the
 * part was hashed (SinkError `source_changed` from partChunks; NotReadableError from a
 * file-backed Blob): the source changed, and sending it again cannot help.
 */
export function isSourceChanged(error: unknown): boolean {
  return findCause(error, (e) => e.name === 'NotReadableError' || isSourceChangedSinkError(e)) !== null;
}

/** The source-changed SinkError in `cause` as it is (its message says what changed), else a new one. */
export function sourceChangedError(cause: unknown, parts: readonly OutgoingPart[] = []): SinkError {
  const found = findCause(cause, isSourceChangedSinkError);
  if (found) return found;
  const name = parts.find((p) => p.file)?.file?.name;
  return new SinkError(
    `${name ?? 'the source file'} was modified while it was sent: it is no longer the file whose bytes were hashed (its size, modification time or inode differ)`,
    'fatal',
    'source_changed',
    { cause },
  );
}

function isSourceChangedSinkError(e: Error): e is SinkError {
  return e instanceof SinkError && e.reason === 'source_changed';
}

/** Where a message landed: `channel_id` is the channel or thread Discord's answer names. */
export interface PostedMessage {
  channel_id: string;
  message_id: string;
}

export interface PostedPart extends PostedMessage {
  index: number;
  attachment_id: string;
}

export interface PostedManifest extends PostedMessage {
  attachment_id: string;
}

export interface SendOptions {
  signal: AbortSignal;
  /** Stable for one batch across retries (≤ 25 characters) so Discord drops a duplicate. */
  nonce: string;
  attempt: number; // 1-based
  /** The message's place among its run's (pipeline.ts): a sink that can hold back a message's end asks it when it may complete. */
  completion?: CompletionGate | undefined;
}

/**
 * How a sink holds back the end of a message (the last bytes of its request: Discord creates
 * the message only once they arrive): it sends every byte but those, says `bodySent`, and
 * completes the message only once `waitToComplete` resolves; until then `throwIfHeldBack`
 * throws (HeldBackError) as soon as the message must not complete, and the sink stops.
 */
export interface CompletionGate {
  /** Aborts once the run stops dispatching: a message not completed by then must not be. */
  readonly signal: AbortSignal;
  throwIfHeldBack(): void;
  bodySent(): void;
  waitToComplete(): Promise<void>;
}

export interface Reconciled {
  /** Recorded parts whose message is gone. */
  missing: number[];
  /** Parts posted but not recorded (or recorded with other ids). */
  found: PostedPart[];
  /** The manifest, when it was posted but never recorded (the bot died at the commit point). */
  manifest?: PostedManifest | null;
}

export interface ChunkSink {
  /** Posts one message carrying `parts` (already packed by the orchestrator). */
  sendParts(transfer: StoredTransfer, parts: OutgoingPart[], options: SendOptions): Promise<PostedPart[]>;
  /** Posts the manifest: the commit point of a transfer. */
  sendManifest(transfer: StoredTransfer, manifest: Manifest, options: SendOptions): Promise<PostedManifest>;
  /**
   * Before a resume: which recorded parts are really still there, and which parts were
   * posted but never recorded (a crash between the answer and the write). Optional.
   */
  reconcile?(transfer: StoredTransfer, signal: AbortSignal): Promise<Reconciled>;
}

/** The sink with `signal` replaced by the run's hard stop, so a stop lets the upload in flight answer. */
export function withUploadSignal(sink: ChunkSink, signal: AbortSignal): ChunkSink {
  return {
    sendParts: (transfer, parts, options) => sink.sendParts(transfer, parts, { ...options, signal }),
    sendManifest: (transfer, manifest, options) => sink.sendManifest(transfer, manifest, { ...options, signal }),
    ...(sink.reconcile ? { reconcile: (transfer: StoredTransfer) => sink.reconcile!(transfer, signal) } : {}),
  };
}

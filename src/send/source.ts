/**
 * A file sent from a member's computer as the engine reads it: a PartSource over the upload's
 * staging folder (staging.ts), cut into parts as the bytes are fsynced there, hashed in the
 * same single pass as any other source, and sealed with age on the way when the transfer is
 * encrypted. It waits while the sender sends nothing.
 *
 * A run after a restart starts at the saved hash checkpoint (as a URL transfer does with a
 * Range request, resume/url.ts): the parts before it are replayed from their records, the
 * whole-file hash state is restored, and reading starts at the first staged byte the next
 * part needs. For an encrypted transfer that byte is the start of the 64 KiB age chunk the
 * checkpoint falls in (`plainStartFor`): sealing that chunk again gives the same bytes, and
 * the ones before the checkpoint are skipped. The staging folder keeps that chunk until then.
 */
import { createHash, type Hash } from 'node:crypto';
import { AGE_CHUNK, SEALED_CHUNK } from '../crypto/age.js';
import { SealingStream } from '../crypto/age-stream.js';
import type { StoredTransfer } from '../store/types.js';
import type { PartSource, SourcePart } from '../transfer/chunker.js';
import { transferKeys } from '../transfer/encryption.js';
import { ResumableSha256 } from '../transfer/resumable-hash.js';
import { confirmedPartsBefore, PendingCheckpoints, usableCheckpoint, type HashCheckpoint } from '../transfer/resume/url.js';
import type { UploadStaging } from './staging.js';

/** Where reading the sender's bytes starts for a run that begins at the posted byte `posted`. */
export function plainStartFor(transfer: StoredTransfer, posted: number): { plain: number; fromChunk: number; skip: number } {
  const keys = transferKeys(transfer);
  if (keys === null) return { plain: posted, fromChunk: 0, skip: 0 };
  const prefix = keys.prefix.length;
  if (posted < prefix) return { plain: 0, fromChunk: 0, skip: posted };
  const chunk = Math.floor((posted - prefix) / SEALED_CHUNK);
  return { plain: chunk * AGE_CHUNK, fromChunk: chunk, skip: posted - prefix - chunk * SEALED_CHUNK };
}

/** The saved checkpoint a run of this send transfer starts at, or null: from byte 0. */
export function sendResumePoint(transfer: StoredTransfer): HashCheckpoint | null {
  if (transfer.source.kind !== 'send') return null;
  return usableCheckpoint(transfer, transfer.source.hash_checkpoint);
}

export class SendPartSource implements PartSource {
  readonly #transfer: StoredTransfer;
  readonly #staging: Promise<UploadStaging>;
  readonly #signal: AbortSignal;
  readonly #onWaiting: (waiting: boolean) => void;
  readonly #checkpoints = new PendingCheckpoints();
  #whole: string | null = null;
  readonly #waitingListeners: (() => void)[] = [];

  constructor(transfer: StoredTransfer, staging: Promise<UploadStaging>, signal: AbortSignal, onWaiting: (waiting: boolean) => void = () => {}) {
    if (transfer.source.kind !== 'send') throw new Error(`transfer ${transfer.id} has no send source`);
    this.#transfer = transfer;
    this.#staging = staging;
    this.#signal = signal;
    this.#onWaiting = onWaiting;
  }

  wholeFileSha256(): string | null {
    return this.#whole;
  }

  onWaiting(listener: () => void): void {
    this.#waitingListeners.push(listener);
  }

  /** The saved hash state after the posted byte `offset` (a part boundary this run read), if still held. */
  checkpointAt(offset: number): HashCheckpoint | null {
    return this.#checkpoints.at(offset);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourcePart> {
    const t = this.#transfer;
    const total = t.file_size ?? 0; // posted bytes: the age file's when encrypted
    const chunkSize = t.chunk_size_bytes;
    const resume = sendResumePoint(t);
    const hash = resume ? ResumableSha256.restore(resume.state) : new ResumableSha256();
    let index = 0;
    if (resume) {
      for (const part of confirmedPartsBefore(t, resume.offset)) {
        yield part;
        index = part.index + 1;
      }
    }
    let offset = resume?.offset ?? 0; // posted bytes cut so far
    const start = plainStartFor(t, offset);
    const keys = transferKeys(t);
    const sealer = keys ? new SealingStream(keys, start.fromChunk) : null;
    const staging = await this.#staging;
    let skip = start.skip; // sealed bytes made again before the checkpoint
    // The part being cut: its hash as bytes pass; its bytes copied only when it is not exactly one staged segment.
    let part: { offset: number; length: number; filled: number; hash: Hash; data: Buffer | null } | null = null;
    const ready: Omit<SourcePart, 'index'>[] = [];
    const cut = (chunk: Buffer) => {
      let at = Math.min(skip, chunk.length);
      skip -= at;
      while (at < chunk.length) {
        if (offset >= total) throw new Error(`the staged bytes make more than the planned ${total} bytes`);
        if (part === null) {
          const length = Math.min(chunkSize, total - offset);
          // Plain parts are whole segments (both are chunk_size_bytes from 0): posted from the file, never held in memory.
          const whole = sealer === null && staging.segmentStartsAt(offset);
          part = { offset, length, filled: 0, hash: createHash('sha256'), data: whole ? null : Buffer.allocUnsafe(length) };
        }
        const take = Math.min(part.length - part.filled, chunk.length - at);
        const piece = chunk.subarray(at, at + take);
        hash.update(piece);
        part.hash.update(piece);
        if (part.data) piece.copy(part.data, part.filled);
        part.filled += take;
        offset += take;
        at += take;
        if (part.filled === part.length) {
          this.#checkpoints.remember(offset, hash.exportState());
          ready.push({ offset: part.offset, size: part.length, sha256: part.hash.digest('hex'), ...(part.data ? { data: part.data } : {}) });
          part = null;
        }
      }
    };
    const parts = async function* (name: string): AsyncGenerator<SourcePart> {
      for (const done of ready.splice(0)) {
        yield done.data ? { index: index++, ...done } : { index: index++, ...done, file: await staging.fileRange(done.offset, done.size, name) };
      }
    };
    const onWaiting = (waiting: boolean) => {
      this.#onWaiting(waiting);
      if (waiting) for (const listener of this.#waitingListeners) listener();
    };
    for await (const chunk of staging.read(start.plain, this.#signal, onWaiting)) {
      if (sealer === null) cut(chunk);
      else for (const sealed of sealer.push(chunk)) cut(sealed);
      yield* parts(t.file_name);
    }
    if (sealer) for (const sealed of sealer.end()) cut(sealed);
    yield* parts(t.file_name);
    if (offset !== total) throw new Error(`the staged bytes made ${offset} of the planned ${total} bytes`);
    this.#whole = hash.digest();
  }
}

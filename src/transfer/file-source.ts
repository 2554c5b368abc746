/**
 * A transfer's local file as a run reads it: the chunker over the file at the size and
 * mtime it was planned with, and the check that it is still that file before a run sends
 * anything and before the commit point (README, 'What survives what': a changed source ends in `error`,
 * never a mixed file).
 */
import { stat } from 'node:fs/promises';
import { errnoCode, messageOf } from '../errors.js';
import type { StoredTransfer } from '../store/types.js';
import { encryptedSize } from '../crypto/age.js';
import { readParts, type PartSource } from './chunker.js';
import { sealedSource } from './encryption.js';

export type OpenSource = (transfer: StoredTransfer, signal: AbortSignal) => PartSource;

/** The chunker over a file source, at the size and length the transfer was planned with. */
export const openFileSource: OpenSource = (transfer, signal) => {
  if (transfer.source.kind !== 'file') throw new Error(`transfer ${transfer.id}: no reader for a ${transfer.source.kind} source`);
  const sealed = sealedSource(transfer, transfer.source.size);
  return readParts(transfer.source.real_path, {
    chunkSize: transfer.chunk_size_bytes,
    // An encrypted transfer's parts are of the age file.
    fileSize: sealed ? encryptedSize(sealed.keys.prefix.length, transfer.source.size) : transfer.source.size,
    sealed,
    mtimeMs: transfer.source.mtime_ms,
    // Parts travel as file-backed slices: memory stays flat however many wait for an upload.
    keepData: false,
    name: transfer.source.path,
    signal,
  });
};

/**
 * Null when the transfer's file source is byte-for-byte the one planned as far as its size
 * and mtime tell (other sources: always null), else the note that ends the run. Notes name
 * the file as the user knows it: Node's messages carry the path on the host.
 */
export async function fileSourceChange(transfer: StoredTransfer): Promise<string | null> {
  const source = transfer.source;
  if (source.kind !== 'file') return null;
  let info;
  try {
    info = await stat(source.real_path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return `source changed: ${source.path} no longer exists`;
    return `source unavailable: ${source.path}: ${code ?? messageOf(err)}`;
  }
  const changes: string[] = [];
  if (info.size !== source.size) changes.push(`size ${source.size} → ${info.size} bytes`);
  if (info.mtimeMs !== source.mtime_ms)
    changes.push(`modified at ${new Date(info.mtimeMs).toISOString()}, planned with ${new Date(source.mtime_ms).toISOString()}`);
  return changes.length > 0 ? `source changed: ${source.path}: ${changes.join(', ')}` : null;
}

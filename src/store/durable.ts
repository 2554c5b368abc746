/**
 * The progress file's own use of the durable write: each write keeps the version it replaces
 * until the caller has its acknowledgement, and opening the file (under the lock) clears
 * what an interrupted writer left beside it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isLeftoverName, writeFileDurably } from '../fs/durable-write.js';

/**
 * Writes the file durably and returns the unlink of the replaced version, which the caller
 * runs once the write is acknowledged (why it is kept for a moment: see keepPrevious in
 * durable-write.ts). A new file is made readable by its owner only (0600): while an
 * encrypted transfer can resume, it holds that transfer's file key (TRANSFER_PROGRESS_FORMAT.md,
 * 'Encryption'). An existing file keeps the mode its operator gave it, except that a version holding a key
 * (`holdsKey`) loses every group and other permission.
 */
export function writeDurably(file: string, text: string | Buffer, holdsKey = false): Promise<(() => Promise<void>) | undefined> {
  return writeFileDurably(file, text, { deferDrop: true, mode: 0o600, clearMode: holdsKey ? 0o077 : 0 });
}

/**
 * Temp files and replaced versions a SIGKILL or power loss left behind (isLeftoverName), and
 * write-file-atomic's `<file>.<uint32>` from versions before writeFileDurably. Only called
 * while holding the lock, so no writer is active.
 */
export async function removeLeftoverTempFiles(file: string): Promise<void> {
  const base = path.basename(file);
  const entries = await fsp.readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const entry of entries) {
    if (isLeftoverName(base, entry) || (entry.startsWith(base) && /^\.\d+$/.test(entry.slice(base.length)))) {
      await fsp.unlink(path.join(path.dirname(file), entry)).catch(() => {});
    }
  }
}

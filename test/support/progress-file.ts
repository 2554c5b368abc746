/** Reading a progress file the bot writes, as a test waits on it: a transfer, its status, its parts. */
import fs from 'node:fs/promises';
import type { ProgressFile, TransferRecord } from '../../src/store/schema.js';

export interface ProgressReader {
  readProgress(): Promise<ProgressFile>;
  transfer(id: string): Promise<TransferRecord>;
  waitForStatus(id: string, statuses: TransferRecord['status'][], timeoutMs?: number): Promise<TransferRecord>;
  /** Waits until at least `count` parts are recorded (or the transfer ended). */
  waitForParts(id: string, count: number, timeoutMs?: number): Promise<TransferRecord>;
}

export function progressReader(progressPath: string): ProgressReader {
  const readProgress = async () => JSON.parse(await fs.readFile(progressPath, 'utf8')) as ProgressFile;
  const transfer = async (id: string) => {
    const t = (await readProgress()).active_transfers.find((x) => x.id === id);
    if (!t) throw new Error(`no transfer ${id} in the progress file`);
    return t;
  };
  return {
    readProgress,
    transfer,
    async waitForStatus(id, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: TransferRecord | undefined;
      while (Date.now() < deadline) {
        try {
          last = await transfer(id);
          if (statuses.includes(last.status)) return last;
        } catch {
          // The file may be between a rename and our read; try again.
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `transfer ${id} did not reach ${statuses.join('/')} within ${timeoutMs} ms; last: ${JSON.stringify(last?.status)} ${JSON.stringify(last?.notes)}`,
      );
    },
    async waitForParts(id, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = await transfer(id);
      while (last.completed_chunks.length < count && (last.status === 'pending' || last.status === 'in_progress') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        last = await transfer(id);
      }
      return last;
    },
  };
}

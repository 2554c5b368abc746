/**
 * The changes queued for FileStore's writer loop. Each carries its caller's promise and what
 * it was based on, so that at write time it can be applied on top of whatever the file then
 * holds, and rejected with StaleWriteError when another writer changed that record meanwhile.
 */
import { StaleWriteError } from '../errors.js';
import type { TransferRecord } from './schema.js';

export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export type Op =
  | { kind: 'create'; record: TransferRecord; waiter: Waiter<TransferRecord> }
  | { kind: 'update'; record: TransferRecord; basedOn: string; waiter: Waiter<TransferRecord> }
  | { kind: 'prune'; expected: Map<string, string>; removed: string[]; waiter: Waiter<string[]> };

/**
 * Applies one queued change to `records` (mutating the map, never the records), or returns
 * why it cannot be applied on top of this state.
 */
export function applyOp(records: Map<string, TransferRecord>, op: Op): StaleWriteError | undefined {
  switch (op.kind) {
    case 'create':
      if (records.has(op.record.id)) {
        return new StaleWriteError(`transfer ${op.record.id} was created by another writer meanwhile`);
      }
      records.set(op.record.id, op.record);
      return undefined;
    case 'update': {
      const current = records.get(op.record.id);
      if (current === undefined) {
        return new StaleWriteError(`transfer ${op.record.id} was removed from the progress file by another writer`);
      }
      if (current.updated_at !== op.basedOn) {
        return new StaleWriteError(
          `transfer ${op.record.id} is at updated_at ${current.updated_at} in the progress file, not at ` +
            `${op.basedOn} that this change was based on (another writer changed it, or an earlier change ` +
            `to it failed); the change was not written`,
        );
      }
      records.set(op.record.id, op.record);
      return undefined;
    }
    case 'prune':
      op.removed = [];
      for (const [id, updatedAt] of op.expected) {
        if (records.get(id)?.updated_at === updatedAt) {
          records.delete(id);
          op.removed.push(id);
        }
      }
      return undefined;
  }
}

export function settle(op: Op): void {
  if (op.kind === 'prune') op.waiter.resolve([...op.removed]);
  else op.waiter.resolve(op.record);
}

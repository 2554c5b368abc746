/** The cached serializer must write byte for byte what JSON.stringify of the whole file writes. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore, serialize, serializeCached, type FileState } from '../../src/store/file-store.js';
import { buildNewRecord, applyChange } from '../../src/store/apply.js';
import type { ProgressFile, TransferRecord } from '../../src/store/schema.js';
import { makeTempDir, sampleTransfer } from './helpers.js';

function state(top: Record<string, unknown>, records: TransferRecord[]): FileState {
  const data = { schema_version: 1, ...top, active_transfers: records } as ProgressFile;
  return { top: data, records: new Map(records.map((r) => [r.id, r])) };
}

const now = new Date('2030-01-01T00:00:00.000Z');

describe('serializeCached', () => {
  const a = buildNewRecord(sampleTransfer('upload_aaaaaa'), now);
  const b = applyChange(buildNewRecord(sampleTransfer('upload_bbbbbb'), now), (d) => {
    d.notes.push('line one\nline "two" \u0000 ünïcödé 🎞', '');
    d.parts.push({ index: 0, name: 'x\ny.part001', offset: 0, size: 5, sha256: 'a'.repeat(64), message_id: '1', attachment_id: '2' });
    (d as Record<string, unknown>)['future_field'] = { nested: [1, { deep: [] }], empty: {} };
  }, now);

  it.each([
    ['no records', {}, []],
    ['one record', {}, [a]],
    ['two records, strings with escapes, unknown fields', {}, [a, b]],
    ['unknown top-level fields before and after', { before_field: [1, 2], zz_after: { x: 'y' } }, [b, a]],
  ] as const)('GIVEN %s THEN the bytes equal JSON.stringify of the whole file', (_label, top, records) => {
    const s = state(top, [...records]);
    const out = { buffer: Buffer.alloc(0) };
    expect(serializeCached(s, out).toString('utf8')).toBe(serialize(s));
    // Again, from the cache and into the reused buffer.
    expect(serializeCached(s, out).toString('utf8')).toBe(serialize(s));
  });

  it('GIVEN a shorter file after a longer one THEN the reused buffer yields only the new bytes', () => {
    const out = { buffer: Buffer.alloc(0) };
    serializeCached(state({}, [a, b]), out);
    expect(serializeCached(state({}, [a]), out).toString('utf8')).toBe(serialize(state({}, [a])));
  });

  it('GIVEN updates through the store THEN the file on disk is what JSON.stringify writes', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const file = path.join(dir, 'transfer_progress.json');
      const store = await FileStore.open(file);
      await store.create(sampleTransfer('upload_aaaaaa'));
      await store.create(sampleTransfer('upload_bbbbbb'));
      await Promise.all([
        store.update('upload_aaaaaa', (d) => void d.notes.push('a\nb')),
        store.update('upload_bbbbbb', (d) => void d.completed_chunks.push(0)),
      ]);
      await store.close();
      const text = await readFile(file, 'utf8');
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 1)}\n`);
      expect(JSON.parse(text).active_transfers.map((t: TransferRecord) => t.notes)).toEqual([['a\nb'], []]);
    } finally {
      await cleanup();
    }
  });
});

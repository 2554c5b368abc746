/** The file's layout, and the cached serializer writing it byte for byte as the plain one does. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import type { FileState } from '../../src/store/parse.js';
import { serialize, serializeCached } from '../../src/store/serialize.js';
import { buildNewRecord, applyChange } from '../../src/store/apply.js';
import type { ProgressFile, TransferRecord } from '../../src/store/schema.js';
import { makeTempDir, sampleTransfer, seededRandom } from './helpers.js';

function state(top: Record<string, unknown>, records: TransferRecord[]): FileState {
  const data = { schema_version: 1, ...top, active_transfers: records } as ProgressFile;
  return { top: data, records: new Map(records.map((r) => [r.id, r])) };
}

const now = new Date('2030-01-01T00:00:00.000Z');

describe('serializeCached', () => {
  const a = buildNewRecord(sampleTransfer('upload_aaaaaa'), now);
  const b = applyChange(
    buildNewRecord(sampleTransfer('upload_bbbbbb'), now),
    (d) => {
      d.notes.push('line one\nline "two" \u0000 ünïcödé 🎞', '');
      d.parts.push({ index: 0, name: 'x\ny.part001', offset: 0, size: 5, sha256: 'a'.repeat(64), message_id: '1', attachment_id: '2' });
      (d as Record<string, unknown>)['future_field'] = { nested: [1, { deep: [] }], empty: {} };
    },
    now,
  );

  it.each([
    ['no records', {}, []],
    ['one record', {}, [a]],
    ['two records, strings with escapes, unknown fields', {}, [a, b]],
    ['unknown top-level fields before and after', { before_field: [1, 2], zz_after: { x: 'y' } }, [b, a]],
  ] as const)('GIVEN %s THEN the cached bytes equal the plain ones, which parse back to the same data', (_label, top, records) => {
    const s = state(top, [...records]);
    expect(JSON.parse(serialize(s))).toEqual({ ...s.top, active_transfers: [...records] });
    const out = { buffer: Buffer.alloc(0) };
    expect(serializeCached(s, out).toString('utf8')).toBe(serialize(s));
    // Again, from the cache and into the reused buffer.
    expect(serializeCached(s, out).toString('utf8')).toBe(serialize(s));
  });

  it('GIVEN 80 random changes (one record, several, none, added, removed, top level) THEN every write patched into the kept buffer equals the plain bytes', () => {
    const random = seededRandom(20261124);
    const pick = (n: number) => Math.floor(random() * n);
    let records = ['upload_aaaaaa', 'upload_bbbbbb', 'upload_cccccc'].map((id) => buildNewRecord(sampleTransfer(id), now));
    let top: Record<string, unknown> = {};
    const out = { buffer: Buffer.alloc(16) };
    const grow = (r: TransferRecord, i: number) =>
      applyChange(
        r,
        (d) => {
          const index = d.parts.length;
          d.parts.push({
            index,
            name: `f.part${index}`,
            offset: index,
            size: 1 + i,
            sha256: 'c'.repeat(64),
            message_id: String(i),
            attachment_id: String(i),
          });
          d.completed_chunks.push(index);
        },
        now,
      );
    const shrink = (r: TransferRecord) => applyChange(r, (d) => void (d.notes = d.notes.slice(1)), now);
    const note = (r: TransferRecord, i: number) => applyChange(r, (d) => void d.notes.push('x'.repeat(i % 7)), now);
    const paths = new Set<string>();
    for (let i = 0; i < 80; i++) {
      const k = pick(records.length);
      const step = pick(8);
      if (step <= 2) records[k] = grow(records[k]!, i);
      else if (step === 3) records[k] = shrink(records[k]!);
      else if (step === 4) records = records.map((r, j) => (j % 2 === 0 ? note(r, i) : r));
      else if (step === 5 && records.length < 6) records.push(buildNewRecord(sampleTransfer(`upload_n${String(i).padStart(5, '0')}`), now));
      else if (step === 6 && records.length > 1) records.splice(k, 1);
      else if (step === 7) top = i % 2 === 0 ? { label: `run ${i}` } : {};
      else records[k] = note(records[k]!, i);
      paths.add(String(step));
      const s = state(top, records);
      expect(serializeCached(s, out).toString('utf8'), `step ${i} (${step})`).toBe(serialize(s));
    }
    expect(paths.size).toBe(8);
  });

  it('GIVEN a shorter file after a longer one THEN the reused buffer yields only the new bytes', () => {
    const out = { buffer: Buffer.alloc(0) };
    serializeCached(state({}, [a, b]), out);
    expect(serializeCached(state({}, [a]), out).toString('utf8')).toBe(serialize(state({}, [a])));
  });

  it('GIVEN a transfer with parts THEN each part is one line, index lists are one line, the rest one field per line', () => {
    const record = applyChange(
      a,
      (d) => {
        d.parts.push(
          { index: 0, name: 'a.part1', offset: 0, size: 5, sha256: 'a'.repeat(64), message_id: '1', attachment_id: '2' },
          { index: 1, name: 'a.part2', offset: 5, size: 5, sha256: 'b'.repeat(64), message_id: '3', attachment_id: '4' },
        );
        d.completed_chunks.push(0, 1);
        d.chunk_attempts['0'] = 1;
        d.chunk_attempts['1'] = 2;
      },
      now,
    );
    const lines = serialize(state({}, [record])).split('\n');
    expect(lines.slice(0, 4)).toEqual(['{', ' "schema_version": 1,', ' "active_transfers": [', '  {']);
    expect(lines).toContain('   "id": "upload_aaaaaa",');
    expect(lines).toContain('   "completed_chunks": [0,1],');
    expect(lines).toContain('   "chunk_attempts": {"0":1,"1":2},');
    const at = lines.indexOf('   "parts": [');
    expect(lines.slice(at + 1, at + 4)).toEqual([`    ${JSON.stringify(record.parts[0])},`, `    ${JSON.stringify(record.parts[1])}`, '   ],']);
    expect(lines).toContain('    "kind": "file",');
    expect(lines.slice(-4)).toEqual(['  }', ' ]', '}', '']);
  });

  it('GIVEN updates through the store THEN the file on disk is what serialize writes', async () => {
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
      const data = JSON.parse(text) as ProgressFile;
      expect(text).toBe(serialize({ top: data, records: new Map(data.active_transfers.map((t) => [t.id, t])) }));
      expect(JSON.parse(text).active_transfers.map((t: TransferRecord) => t.notes)).toEqual([['a\nb'], []]);
    } finally {
      await cleanup();
    }
  });
});

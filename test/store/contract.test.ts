/** One contract, every ProgressStore implementation (STYLE example 7). */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { TransitionError } from '../../src/errors.js';
import { InvalidRecordError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { TRANSFER_STATUSES, type TransferRecord, type TransferStatus } from '../../src/store/schema.js';
import { canTransition } from '../../src/store/state.js';
import type { ProgressStore } from '../../src/store/types.js';
import { fakeClock, makeTempDir, samplePart, sampleTransfer } from './helpers.js';

interface Harness {
  store: ProgressStore;
  /** What a fresh reader would see (the file for FileStore, the store itself for memory). */
  persisted(): Promise<TransferRecord[]>;
  cleanup(): Promise<void>;
}

const implementations: { name: string; make: (now: () => Date) => Promise<Harness> }[] = [
  {
    name: 'MemoryStore',
    make: async (now) => {
      const store = new MemoryStore([], { now });
      return { store, persisted: async () => store.list(), cleanup: async () => {} };
    },
  },
  {
    name: 'FileStore',
    make: async (now) => {
      const { dir, cleanup } = await makeTempDir();
      const file = path.join(dir, 'transfer_progress.json');
      const store = await FileStore.open(file, { now });
      return {
        store,
        persisted: async () => JSON.parse(await readFile(file, 'utf8')).active_transfers,
        cleanup: async () => {
          await store.close();
          await cleanup();
        },
      };
    },
  },
];

/** How to bring a pending transfer to each status through allowed transitions only. */
const PATH_TO: Record<TransferStatus, TransferStatus[]> = {
  pending: [],
  in_progress: ['in_progress'],
  interrupted: ['in_progress', 'interrupted'],
  complete: ['in_progress', 'complete'],
  error: ['error'],
  cancelled: ['cancelled'],
};

const PAIRS = TRANSFER_STATUSES.flatMap((from) =>
  TRANSFER_STATUSES.filter((to) => to !== from).map((to) => ({ from, to, allowed: canTransition(from, to) })),
);

describe.each(implementations)('$name honours the ProgressStore contract', ({ make }) => {
  let h: Harness;
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    clock = fakeClock();
    h = await make(clock.now);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  test('GIVEN transfers with parts THEN summaries give each one in brief, matching the full records', async () => {
    await h.store.create(sampleTransfer('upload_sum001'));
    await h.store.create(sampleTransfer('upload_sum002'));
    await h.store.update('upload_sum002', (t) => {
      t.completed_chunks = [0, 1];
    });
    const full = h.store.list();
    const brief = h.store.summaries();
    expect(brief.map((b) => b.id)).toEqual(full.map((t) => t.id));
    for (const [i, b] of brief.entries()) {
      const t = full[i]!;
      expect(b).toEqual({
        id: t.id,
        status: t.status,
        file_name: t.file_name,
        owner_id: t.owner_id,
        guild_id: t.guild_id,
        channel_id: t.channel_id,
        total_chunks: t.total_chunks,
        created_at: t.created_at,
        updated_at: t.updated_at,
        parts_done: t.completed_chunks.length,
      });
    }
    expect(brief[1]?.parts_done).toBe(2);
  });

  test('GIVEN a new transfer THEN create records it pending with timestamps, empty progress and schema defaults', async () => {
    const created = await h.store.create(sampleTransfer());
    expect(created).toMatchObject({
      id: 'upload_abc123',
      status: 'pending',
      completed_chunks: [],
      parts: [],
      chunk_attempts: {},
      notes: [],
      file_sha256: null,
      hash_algo: 'sha256',
      bytes_done: 0,
      retries: 0,
      progress_message_id: null,
      manifest_message_id: null,
      started_at: null,
      completed_at: null,
    });
    expect(created.created_at).toBe(created.updated_at);
    expect(new Date(created.created_at).toISOString()).toBe(created.created_at);
    expect(h.store.get('upload_abc123')).toEqual(created);
    expect(await h.persisted()).toEqual([created]);
  });

  test('GIVEN notes in the new transfer THEN create keeps them', async () => {
    const created = await h.store.create(sampleTransfer('upload_notes1', { notes: ['planned'] }));
    expect(created.notes).toEqual(['planned']);
  });

  test('GIVEN an id already recorded THEN create rejects and keeps the first', async () => {
    const first = await h.store.create(sampleTransfer());
    await expect(h.store.create(sampleTransfer('upload_abc123', { file_name: 'other.bin' }))).rejects.toThrow(/upload_abc123/);
    expect(h.store.get('upload_abc123')).toEqual(first);
  });

  test('GIVEN a malformed transfer id THEN create rejects and records nothing', async () => {
    await expect(h.store.create(sampleTransfer('Upload_NOPE'))).rejects.toThrow(InvalidRecordError);
    expect(h.store.list()).toEqual([]);
  });

  test('GIVEN several transfers THEN list returns each and get finds each; an unknown id gives undefined', async () => {
    await h.store.create(sampleTransfer('upload_aaaaaa'));
    await h.store.create(sampleTransfer('upload_bbbbbb'));
    expect(h.store.list().map((t) => t.id)).toEqual(['upload_aaaaaa', 'upload_bbbbbb']);
    expect(h.store.get('upload_zzzzzz')).toBeUndefined();
  });

  test('GIVEN an unknown id THEN update and setStatus reject naming the id', async () => {
    await expect(h.store.update('upload_zzzzzz', () => {})).rejects.toThrow(/upload_zzzzzz/);
    await expect(h.store.setStatus('upload_zzzzzz', 'in_progress')).rejects.toThrow(/upload_zzzzzz/);
  });

  test('GIVEN an update THEN the change is saved, persisted and updated_at moves forward', async () => {
    const created = await h.store.create(sampleTransfer());
    const saved = await h.store.update(created.id, (d) => {
      d.completed_chunks.push(0);
      d.chunk_attempts['0'] = 2;
      d.progress_message_id = '444';
    });
    expect(saved).toMatchObject({ completed_chunks: [0], chunk_attempts: { '0': 2 }, progress_message_id: '444' });
    expect(Date.parse(saved.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
    expect(saved.created_at).toBe(created.created_at);
    expect(h.store.get(created.id)).toEqual(saved);
    expect(await h.persisted()).toEqual([saved]);
  });

  test('GIVEN the clock stands still THEN updated_at still moves forward on every change', async () => {
    const created = await h.store.create(sampleTransfer());
    clock.set(Date.parse('2020-01-01T00:00:00.000Z')); // earlier than created_at
    const stuck = Date.parse('2020-01-01T00:00:00.000Z');
    const times: number[] = [Date.parse(created.updated_at)];
    for (let i = 0; i < 5; i++) {
      clock.set(stuck - 1000); // fakeClock adds 1 s per reading: always the same instant
      times.push(Date.parse((await h.store.update(created.id, (d) => void d.notes.push(`n${i}`))).updated_at));
    }
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
  });

  test('GIVEN a change that throws THEN update rejects with that error and the record is unchanged', async () => {
    const created = await h.store.create(sampleTransfer());
    await expect(
      h.store.update(created.id, (d) => {
        d.completed_chunks.push(0);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(h.store.get(created.id)).toEqual(created);
    expect(await h.persisted()).toEqual([created]);
  });

  test('GIVEN a change that breaks the schema THEN update rejects naming the field and the record is unchanged', async () => {
    const created = await h.store.create(sampleTransfer());
    await expect(h.store.update(created.id, (d) => void d.completed_chunks.push(-1))).rejects.toThrow(/completed_chunks/);
    await expect(
      h.store.update(created.id, (d) => {
        d.id = 'upload_other1';
      }),
    ).rejects.toThrow(InvalidRecordError);
    expect(h.store.get(created.id)).toEqual(created);
  });

  test('GIVEN returned records THEN they are frozen: editing one throws and the store does not change', async () => {
    const created = await h.store.create(sampleTransfer());
    const edits: Array<() => void> = [
      () => (created as TransferRecord).completed_chunks.push(9),
      () => (h.store.get(created.id) as TransferRecord).notes.push('x'),
      () => ((h.store.list()[0] as TransferRecord).status = 'complete'),
      () => ((created as TransferRecord).source.path = 'elsewhere'),
    ];
    for (const edit of edits) expect(edit).toThrow(TypeError);
    let leaked: TransferRecord | undefined;
    const saved = await h.store.update(created.id, (d) => {
      leaked = d;
    });
    leaked!.notes.push('late');
    expect(() => ((saved as TransferRecord).file_name = 'changed')).toThrow(TypeError);
    const now = h.store.get(created.id)!;
    expect(now).toMatchObject({ status: 'pending', completed_chunks: [], notes: [], file_name: 'movie.mkv' });
  });

  test('GIVEN a change that edits a stored part in place THEN it is refused and nothing changes', async () => {
    const created = await h.store.create(sampleTransfer());
    const withPart = await h.store.update(created.id, (d) => {
      d.parts.push(samplePart(0));
      d.completed_chunks.push(0);
    });
    await expect(
      h.store.update(created.id, (d) => {
        d.parts[0]!.message_id = 'other';
      }),
    ).rejects.toThrow(TypeError);
    expect(h.store.get(created.id)).toEqual(withPart);
  });

  test('GIVEN an update THEN unchanged parts are shared with the previous version and a bad new part is named by its place', async () => {
    const created = await h.store.create(sampleTransfer());
    const one = await h.store.update(created.id, (d) => void d.parts.push(samplePart(0), samplePart(1)));
    const two = await h.store.update(created.id, (d) => void d.parts.push(samplePart(2)));
    expect(two.parts[0]).toBe(one.parts[0]);
    expect(two.parts[1]).toBe(one.parts[1]);
    expect(two.parts[2]).toEqual(samplePart(2));
    await expect(h.store.update(created.id, (d) => void d.parts.push({ ...samplePart(3), sha256: 'nope' }))).rejects.toThrow(/parts\.3\.sha256/);
    await expect(h.store.update(created.id, (d) => void (d.chunk_attempts['x'] = 1))).rejects.toThrow(/chunk_attempts/);
    await expect(h.store.update(created.id, (d) => void (d.chunk_attempts['0'] = -1))).rejects.toThrow(/chunk_attempts/);
    await h.store.update(created.id, (d) => void d.completed_chunks.push(0, 1, 2));
    await expect(h.store.update(created.id, (d) => void d.completed_chunks.push(1.5))).rejects.toThrow(/completed_chunks\.3/);
    await expect(h.store.update(created.id, (d) => void (d.completed_chunks = [0, -1]))).rejects.toThrow(/completed_chunks\.1/);
    expect(h.store.get(created.id)!.completed_chunks).toEqual([0, 1, 2]);
  });

  test('GIVEN 50 concurrent updates THEN every change is kept', async () => {
    const created = await h.store.create(sampleTransfer());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h.store.update(created.id, (d) => void d.completed_chunks.push(i))));
    expect(results).toHaveLength(50);
    const expected = Array.from({ length: 50 }, (_, i) => i);
    expect(h.store.get(created.id)!.completed_chunks).toEqual(expected);
    expect((await h.persisted())[0]!.completed_chunks).toEqual(expected);
  });

  test('GIVEN concurrent creates and updates on several transfers THEN none is lost', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `upload_conc${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => h.store.create(sampleTransfer(id))));
    await Promise.all(ids.flatMap((id) => Array.from({ length: 5 }, (_, i) => h.store.update(id, (d) => void d.completed_chunks.push(i)))));
    const persisted = await h.persisted();
    expect(persisted.map((t) => t.id).sort()).toEqual(ids);
    for (const t of persisted) expect(t.completed_chunks).toEqual([0, 1, 2, 3, 4]);
  });

  test('GIVEN setStatus with a note THEN the status changes, the note is appended and started_at/completed_at are filled', async () => {
    const created = await h.store.create(sampleTransfer());
    const running = await h.store.setStatus(created.id, 'in_progress', 'started by test');
    expect(running.status).toBe('in_progress');
    expect(running.notes).toEqual(['started by test']);
    expect(running.started_at).not.toBeNull();
    const done = await h.store.setStatus(created.id, 'complete');
    expect(done.completed_at).not.toBeNull();
    expect(done.started_at).toBe(running.started_at);
    expect(done.notes).toEqual(['started by test']);
  });

  test.each(PAIRS)('GIVEN status $from THEN becoming $to is allowed: $allowed', async ({ from, to, allowed }) => {
    const created = await h.store.create(sampleTransfer());
    for (const step of PATH_TO[from]) await h.store.setStatus(created.id, step);
    const before = h.store.get(created.id)!;
    expect(before.status).toBe(from);
    if (allowed) {
      expect((await h.store.setStatus(created.id, to)).status).toBe(to);
      expect(h.store.get(created.id)!.status).toBe(to);
    } else {
      await expect(h.store.setStatus(created.id, to, 'should not stick')).rejects.toThrow(TransitionError);
      await expect(h.store.update(created.id, (d) => void (d.status = to))).rejects.toThrow(TransitionError);
      expect(h.store.get(created.id)).toEqual(before);
      expect((await h.persisted()).find((t) => t.id === created.id)).toEqual(before);
    }
  });

  test('GIVEN finished and active transfers THEN prune removes only finished ones older than the limit', async () => {
    const base = Date.parse('2030-01-01T00:00:00.000Z');
    clock.set(base);
    await h.store.create(sampleTransfer('upload_old001'));
    await h.store.setStatus('upload_old001', 'in_progress');
    await h.store.setStatus('upload_old001', 'complete');
    await h.store.create(sampleTransfer('upload_olderr'));
    await h.store.setStatus('upload_olderr', 'error');
    await h.store.create(sampleTransfer('upload_oldcan'));
    await h.store.setStatus('upload_oldcan', 'cancelled');
    await h.store.create(sampleTransfer('upload_oldrun'));
    await h.store.setStatus('upload_oldrun', 'in_progress');
    await h.store.create(sampleTransfer('upload_oldint'));
    await h.store.setStatus('upload_oldint', 'in_progress');
    await h.store.setStatus('upload_oldint', 'interrupted');
    clock.set(base + 10 * 3_600_000);
    await h.store.create(sampleTransfer('upload_newdone'));
    await h.store.setStatus('upload_newdone', 'cancelled');

    const hour = 3_600_000;
    const removed = await h.store.prune(5 * hour, new Date(base + 11 * hour));
    expect(removed.sort()).toEqual(['upload_oldcan', 'upload_olderr', 'upload_old001'].sort());
    const left = h.store
      .list()
      .map((t) => t.id)
      .sort();
    expect(left).toEqual(['upload_newdone', 'upload_oldint', 'upload_oldrun']);
    expect((await h.persisted()).map((t) => t.id).sort()).toEqual(left);
    expect(await h.store.prune(5 * hour, new Date(base + 11 * hour))).toEqual([]);
  });

  test('GIVEN an id the store does not hold or already holds THEN update and create refuse it with a code', async () => {
    await expect(h.store.update('upload_nothere', () => undefined)).rejects.toMatchObject({
      code: 'DFS_UNKNOWN_TRANSFER',
      message: 'unknown transfer upload_nothere',
    });
    await h.store.create(sampleTransfer());
    await expect(h.store.create(sampleTransfer())).rejects.toMatchObject({
      code: 'DFS_DUPLICATE_TRANSFER',
      message: 'transfer upload_abc123 already exists',
    });
  });

  test('GIVEN the store is closed THEN changes are refused', async () => {
    await h.store.create(sampleTransfer());
    await h.store.close();
    await expect(h.store.setStatus('upload_abc123', 'in_progress')).rejects.toThrow(/closed/);
  });
});

describe('MemoryStore construction', () => {
  test('GIVEN initial records THEN they are listed with schema defaults, as copies', () => {
    const record = {
      ...sampleTransfer('upload_init01'),
      status: 'interrupted',
      created_at: '2030-01-01T00:00:00.000Z',
      updated_at: '2030-01-01T00:00:00.000Z',
    } as TransferRecord;
    const store = new MemoryStore([record]);
    expect(store.get('upload_init01')).toMatchObject({ status: 'interrupted', completed_chunks: [], notes: [], bytes_done: 0 });
    record.status = 'complete';
    expect(store.get('upload_init01')!.status).toBe('interrupted');
  });

  test('GIVEN the same id twice in the initial records THEN the constructor throws', () => {
    const record = {
      ...sampleTransfer('upload_init01'),
      status: 'pending',
      created_at: '2030-01-01T00:00:00.000Z',
      updated_at: '2030-01-01T00:00:00.000Z',
    } as TransferRecord;
    expect(() => new MemoryStore([record, record])).toThrow(/upload_init01/);
  });
});

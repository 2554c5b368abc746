/**
 * Evolution rules of the progress file (TRANSFER_PROGRESS_FORMAT.md, 'Evolution'): defaults for
 * missing optional fields, unknown fields preserved, and a bad, newer or pre-release file
 * refused without being touched.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { addPart, partChannelId, toRecord, transferChannelIds } from '../../src/transfer/part-records.js';
import { makeTempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  file = path.join(dir, 'transfer_progress.json');
});
afterEach(async () => {
  await cleanup();
});

/** A transfer with only the required fields, as an older version might have written it. */
const minimalTransfer = {
  id: 'upload_min001',
  status: 'in_progress',
  source: { kind: 'url', url: 'https://example.com/big.iso' },
  file_name: 'big.iso',
  file_size: null,
  chunk_size_bytes: 8000000,
  total_chunks: null,
  owner_id: '1',
  channel_id: '2',
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
};

describe('missing and unknown fields', () => {
  test('GIVEN a missing file THEN open creates it with schema_version and no transfers', async () => {
    const store = await FileStore.open(path.join(dir, 'nested', 'transfer_progress.json'));
    await store.close();
    expect(JSON.parse(await readFile(path.join(dir, 'nested', 'transfer_progress.json'), 'utf8'))).toEqual({
      schema_version: 1,
      active_transfers: [],
    });
  });

  test('GIVEN a transfer without optional fields THEN it loads with the schema defaults', async () => {
    await writeFile(file, JSON.stringify({ schema_version: 1, active_transfers: [minimalTransfer] }));
    const store = await FileStore.open(file);
    expect(store.get('upload_min001')).toMatchObject({
      ...minimalTransfer,
      source: { kind: 'url', url: 'https://example.com/big.iso', etag: null, last_modified: null, accepts_ranges: false },
      file_sha256: null,
      hash_algo: 'sha256',
      completed_chunks: [],
      parts: [],
      chunk_attempts: {},
      guild_id: null,
      progress_message_id: null,
      manifest_message_id: null,
      manifest_channel_id: null,
      threads: [],
      bytes_done: 0,
      retries: 0,
      started_at: null,
      completed_at: null,
      notes: [],
    });
    await store.close();
  });

  test('GIVEN unknown fields at every level THEN they survive a rewrite', async () => {
    const part = {
      index: 0,
      name: 'big.iso.part001',
      offset: 0,
      size: 8000000,
      sha256: 'a'.repeat(64),
      message_id: '10',
      attachment_id: '11',
      x_part_future: true,
    };
    const original = {
      schema_version: 1,
      x_top_future: { nested: [1, 2] },
      active_transfers: [
        {
          ...minimalTransfer,
          x_transfer_future: 'keep me',
          source: { ...minimalTransfer.source, x_source_future: 5 },
          parts: [part],
          completed_chunks: [0],
        },
      ],
      x_top_after: 'also kept',
    };
    await writeFile(file, JSON.stringify(original));
    const store = await FileStore.open(file);
    expect(store.get('upload_min001')).toMatchObject({ x_transfer_future: 'keep me' });
    await store.update('upload_min001', (d) => void d.notes.push('rewritten'));
    await store.close();

    const written = JSON.parse(await readFile(file, 'utf8'));
    // Kept, though after the known fields: zod's loose objects list known keys first.
    expect(Object.keys(written).sort()).toEqual(['active_transfers', 'schema_version', 'x_top_after', 'x_top_future']);
    expect(written.x_top_future).toEqual({ nested: [1, 2] });
    expect(written.x_top_after).toBe('also kept');
    const t = written.active_transfers[0];
    expect(t.x_transfer_future).toBe('keep me');
    expect(t.source.x_source_future).toBe(5);
    expect(t.parts[0].x_part_future).toBe(true);
    expect(t.notes).toEqual(['rewritten']);
  });

  test('GIVEN parts recorded without a channel (an older file) THEN they load as in the transfer channel, and a new part records its own', async () => {
    const old = (index: number) => ({
      index,
      name: `big.iso.part00${index + 1}`,
      offset: index * 8000000,
      size: 8000000,
      sha256: 'a'.repeat(64),
      message_id: `1${index}`,
      attachment_id: `2${index}`,
    });
    const transfer = { ...minimalTransfer, parts: [old(0)], completed_chunks: [0], bytes_done: 8000000 };
    await writeFile(file, JSON.stringify({ schema_version: 1, active_transfers: [transfer] }));
    const store = await FileStore.open(file);
    const loaded = store.get('upload_min001')!;
    expect(loaded.parts[0]).not.toHaveProperty('channel_id');
    expect(partChannelId(loaded, loaded.parts[0]!)).toBe(minimalTransfer.channel_id);
    expect(transferChannelIds(loaded)).toEqual([minimalTransfer.channel_id]);
    await store.update('upload_min001', (d) => {
      addPart(d, toRecord(old(1), { channel_id: '77', message_id: '31', attachment_id: '32' }));
      d.threads.push({ id: '77', lane: 0 });
    });
    await store.close();

    const written = JSON.parse(await readFile(file, 'utf8'));
    const t = written.active_transfers[0];
    // The older record is left as it was: its channel is still read as the transfer's.
    expect(t.parts.map((p: { channel_id?: string }) => p.channel_id)).toEqual([undefined, '77']);
    expect(t.threads).toEqual([{ id: '77', lane: 0 }]);
    const reread = await readProgressFile(file);
    expect(transferChannelIds(reread.active_transfers[0]!)).toEqual([minimalTransfer.channel_id, '77']);
  });

  test('GIVEN a valid file THEN readProgressFile returns it and writes nothing', async () => {
    const text = JSON.stringify({ schema_version: 1, active_transfers: [minimalTransfer] });
    await writeFile(file, text);
    const data = await readProgressFile(file);
    expect(data.active_transfers[0]!.id).toBe('upload_min001');
    expect(await readFile(file, 'utf8')).toBe(text);
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
  });

  test('GIVEN no file THEN readProgressFile throws StoreError and creates nothing', async () => {
    await expect(readProgressFile(file)).rejects.toThrow(StoreError);
    expect(await readdir(dir)).toEqual([]);
  });
});

const valid = { schema_version: 1, active_transfers: [minimalTransfer] };
const validText = JSON.stringify(valid, null, 2);

const refused: { what: string; content: string; problem: RegExp }[] = [
  { what: 'a newer schema_version', content: JSON.stringify({ ...valid, schema_version: 2 }), problem: /schema_version 2 is newer/ },
  { what: 'corrupt JSON', content: '{"schema_version": 1, "active_transfers": [}', problem: /not valid JSON/ },
  { what: 'truncated JSON', content: validText.slice(0, Math.floor(validText.length / 2)), problem: /not valid JSON/ },
  { what: 'an empty file', content: '', problem: /empty \(0 bytes\), not valid JSON/ },
  { what: 'a top-level array', content: '[]', problem: /top level is not a JSON object/ },
  { what: 'a missing active_transfers', content: '{"schema_version": 1}', problem: /active_transfers/ },
  {
    what: 'a transfer with a bad id and status',
    content: JSON.stringify({ schema_version: 1, active_transfers: [{ ...minimalTransfer, id: 'nope', status: 'lost' }] }),
    problem: /active_transfers\.0\.id: .*active_transfers\.0\.status/,
  },
  {
    what: 'a wrong type deep inside',
    content: JSON.stringify({ schema_version: 1, active_transfers: [{ ...minimalTransfer, completed_chunks: ['0'] }] }),
    problem: /active_transfers\.0\.completed_chunks\.0/,
  },
  {
    what: 'the same id twice',
    content: JSON.stringify({ schema_version: 1, active_transfers: [minimalTransfer, minimalTransfer] }),
    problem: /upload_min001 appears twice/,
  },
  // 1 is the first version any release wrote: a lower one says what to do, not to run a command that does not exist.
  {
    what: 'a schema_version of 0',
    content: JSON.stringify({ ...valid, schema_version: 0 }),
    problem:
      /^schema_version 0 is older than 1, the first version there is.*not written by a release of discord-file-splitter.*restore it from a backup.*move it aside/i,
  },
  {
    what: 'a negative schema_version',
    content: JSON.stringify({ ...valid, schema_version: -3 }),
    problem: /^schema_version -3 is older than 1, the first version there is.*not written by a release/,
  },
];

describe.each(refused)('a progress file with $what', ({ content, problem }) => {
  test('GIVEN that file WHEN FileStore.open reads it THEN it throws StoreError naming the file and the problem, and the file is byte-identical', async () => {
    await writeFile(file, content);
    const before = await readFile(file);
    const error = await FileStore.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).file).toBe(file);
    expect((error as StoreError).problem).toMatch(problem);
    expect((error as StoreError).message).toContain(file);
    expect((await readFile(file)).equals(before)).toBe(true);
    // The lock taken for the attempt is released, and nothing else was left beside the file.
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
    await expect(readProgressFile(file)).rejects.toThrow(StoreError);
  });
});

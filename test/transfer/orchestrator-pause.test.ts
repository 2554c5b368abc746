/**
 * A progress file the disk will not write pauses a run instead of failing it: the run stops
 * cleanly as `interrupted` (in memory; written once the disk allows) with the note
 * `paused: cannot write the progress file (…)`, forgets no part Discord stored, and a later
 * run finishes the job without posting anything twice.
 */
import { DEFAULTS } from '../../src/config.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskWriteError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer, type TransferDeps } from '../../src/transfer/orchestrator.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { failStat } from '../store/helpers.js';
import { captureLogger, FakeSink, type Script } from './fakes.js';

const CHUNK = 1024; // bytes
const PARTS = 8;
const WAIT_MS = 10_000;

let store: FileStore | undefined;
let restoreStat: (() => void) | undefined;
afterEach(async () => {
  restoreStat?.();
  restoreStat = undefined;
  await store?.close();
  store = undefined;
});

async function setup() {
  const dir = await tempDir();
  const file = path.join(dir, 'data.bin');
  const sha256 = await writeSeededFile(file, PARTS * CHUNK - 5, 3);
  const progressFile = path.join(dir, 'transfer_progress.json');
  store = await FileStore.open(progressFile, { probe: { firstMs: 10, maxMs: 100 } });
  const plan = await planFileTransfer({ realPath: file, relPath: 'data.bin', chunkSize: CHUNK, ownerId: '1'.repeat(18), channelId: '2'.repeat(18) });
  const transfer = await store.create(plan);
  return { store, progressFile, transfer, sha256 };
}

function deps(s: FileStore, sink: FakeSink) {
  const logger = captureLogger();
  const paused: DiskWriteError[] = [];
  const d: TransferDeps = {
    store: s,
    sink,
    log: logger.log,
    config: { maxChunksPerMessage: 1, maxParallelUploads: 1, retryLimit: 2, backoffBaseMs: 1, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES },
    random: () => 0.5,
    sleep: async () => {},
    onPaused: (error) => paused.push(error),
  };
  return { deps: d, paused, ...logger };
}

function nextWritable(s: FileStore): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no successful write within ${WAIT_MS} ms`)), WAIT_MS);
    s.onWritable(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('a run whose progress file the disk refuses', () => {
  it('GIVEN the disk refuses writes from part 3 on THEN the run pauses as interrupted with the part kept, and once the disk allows a new run finishes without posting twice', async () => {
    const { store: s, progressFile, transfer, sha256 } = await setup();
    // Discord stores part 3, then the disk refuses the write that records it.
    const refuseAfterPart3: Script = (call) => {
      if (call.indices.includes(3)) restoreStat = failStat(progressFile);
    };
    const sink = new FakeSink(refuseAfterPart3);
    const { deps: d, paused, events } = deps(s, sink);

    const final = await runTransfer(d, transfer.id);
    expect(final.status).toBe('interrupted');
    expect(final.notes.at(-1)).toMatch(/^paused: cannot write the progress file \(I\/O error\) after 4 of 8 parts/);
    expect(final.completed_chunks).toEqual([0, 1, 2, 3]);
    expect(sink.posted.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ errno: 'EIO', condition: 'I/O error' });
    expect(events('transfer_paused')).toHaveLength(1);
    expect(events('transfer_error')).toHaveLength(0);
    // The file keeps its last good state meanwhile.
    const onDiskWhilePaused = (await readProgressFile(progressFile)).active_transfers[0]!;
    expect(onDiskWhilePaused).toMatchObject({ status: 'in_progress', completed_chunks: [0, 1, 2] });

    const writable = nextWritable(s);
    restoreStat!();
    await writable;
    expect((await readProgressFile(progressFile)).active_transfers[0]).toMatchObject({ status: 'interrupted', completed_chunks: [0, 1, 2, 3] });

    const resumed = await runTransfer({ ...d, sink }, transfer.id);
    expect(resumed.status, resumed.notes.join('; ')).toBe('complete');
    expect(resumed.file_sha256).toBe(sha256);
    expect(sink.posted.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sink.manifests).toHaveLength(1);
    expect((await readProgressFile(progressFile)).active_transfers[0]!.status).toBe('complete');
  });

  it('GIVEN the disk refuses the very first write of a run THEN it pauses before posting anything', async () => {
    const { store: s, progressFile, transfer } = await setup();
    const sink = new FakeSink();
    const { deps: d, paused } = deps(s, sink);
    restoreStat = failStat(progressFile);
    const final = await runTransfer(d, transfer.id);
    expect(final.status).toBe('interrupted');
    expect(final.notes.at(-1)).toMatch(/^paused: cannot write the progress file \(I\/O error\) after 0 of 8 parts/);
    expect(sink.calls).toHaveLength(0);
    expect(paused).toHaveLength(1);
    expect((await readProgressFile(progressFile)).active_transfers[0]!.status).toBe('pending');
  });
});

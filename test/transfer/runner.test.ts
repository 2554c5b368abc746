/**
 * The runner without Discord: a memory store, a scripted sink, a progress view and a
 * deleter that record what they are asked. What the bot does through Discord is tested in
 * test/bot/; this is the runner's own logic, seen through its small interfaces.
 */
import { DEFAULTS } from '../../src/config.js';
import { urlLimits } from '../../src/transfer/url/speed.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SinkError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { StoredTransfer } from '../../src/store/types.js';
import type { ProgressDisplay, ProgressView } from '../../src/transfer/progress-view.js';
import { TransferRunner } from '../../src/transfer/runner.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { captureLogger, deferred, FakeSink, type Script } from './fakes.js';
import type { PostedMessage } from '../../src/transfer/sink.js';

const CHUNK = 1024; // bytes
const OWNER = '1'.repeat(18);
const CHANNEL = '2'.repeat(18);

/** Records what the runner shows; `endShown` can be held open to keep a run settling. */
class RecordingView implements ProgressView {
  readonly begun: string[] = [];
  readonly ends: { id: string; status: string }[] = [];
  holdEnd: Promise<void> | null = null;

  begin(transfer: StoredTransfer): Promise<ProgressDisplay> {
    this.begun.push(transfer.id);
    return Promise.resolve({ update: () => undefined, stop: () => Promise.resolve() });
  }

  async showEnd(transfer: StoredTransfer): Promise<void> {
    this.ends.push({ id: transfer.id, status: transfer.status });
    if (this.holdEnd) await this.holdEnd;
  }

  repairEnds(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

async function setup(script: Script = () => undefined, parts = 4) {
  const dir = await tempDir();
  const file = path.join(dir, 'data.bin');
  await writeSeededFile(file, parts * CHUNK, 3);
  const store = new MemoryStore();
  const sink = new FakeSink(script);
  const view = new RecordingView();
  const deleted: PostedMessage[][] = [];
  const runner = new TransferRunner({
    store,
    sink,
    log: captureLogger().log,
    progress: view,
    deletePosted: (_t, ids) => {
      deleted.push([...ids]);
      return Promise.resolve({ deleted: ids.length, failed: 0 });
    },
    orchestrator: { maxChunksPerMessage: 1, maxParallelUploads: 1, retryLimit: 0, backoffBaseMs: 1, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES },
    url: { allowedHosts: [], maxFileSize: 1_000_000, ...urlLimits(DEFAULTS) },
  });
  const slot = runner.reserve(OWNER, 3)!;
  const info = await stat(file);
  const transfer = await runner.createFileTransfer({
    slot,
    source: { relPath: 'data.bin', realPath: file, size: info.size, mtimeMs: info.mtimeMs },
    chunkSize: CHUNK,
    attachmentSizeLimit: null,
    ownerId: OWNER,
    channelId: CHANNEL,
    guildId: null,
  });
  return { store, sink, view, deleted, runner, id: transfer.id };
}

describe('TransferRunner', () => {
  it('GIVEN a file transfer WHEN started THEN it runs to complete, shown from its beginning to its end', async () => {
    const { runner, view, sink, id } = await setup();
    runner.start(id);
    const final = await runner.settled(id);
    expect(final?.status).toBe('complete');
    expect(view.begun).toEqual([id]);
    expect(view.ends).toEqual([{ id, status: 'complete' }]);
    expect(sink.posted.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    expect(runner.isRunning(id)).toBe(false);
  });

  it('GIVEN a run that failed and is still showing its end WHEN started again THEN it is not running, and it runs again once settled', async () => {
    let failing = true;
    const { runner, view, store, id } = await setup((call) => {
      if (failing && call.indices[0] === 2) throw new SinkError('refused', 'fatal', 'http_403');
    });
    const held = deferred();
    view.holdEnd = held.promise;
    runner.start(id);
    // Bounded: the failing part is the third of four, sent in well under the loop's 2 s.
    for (let i = 0; i < 200 && store.get(id)?.status !== 'error'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.get(id)?.status).toBe('error');
    expect(runner.isRunning(id)).toBe(false);
    failing = false;
    view.holdEnd = null;
    runner.start(id);
    held.resolve();
    // The first run settles, the second starts from it and completes.
    for (let i = 0; i < 200 && store.get(id)?.status !== 'complete'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.get(id)?.status).toBe('complete');
    expect(view.ends.map((e) => e.status)).toEqual(['error', 'complete']);
  });

  it('GIVEN an id the store does not hold WHEN started or cancelled THEN an UnknownTransferError names it', async () => {
    const { runner } = await setup();
    expect(() => runner.start('upload_nothere')).toThrow(
      expect.objectContaining({ code: 'DFS_UNKNOWN_TRANSFER', message: 'unknown transfer upload_nothere' }),
    );
    await expect(runner.cancel('upload_nothere', { deletePosted: false })).rejects.toMatchObject({
      code: 'DFS_UNKNOWN_TRANSFER',
      id: 'upload_nothere',
    });
  });

  it('GIVEN a running transfer WHEN cancelled with delete_posted THEN dispatch stops, it is cancelled, its end is shown and its posted messages are deleted', async () => {
    const gate = deferred();
    const { runner, view, deleted, store, id } = await setup(async (call) => {
      if (call.indices[0] === 1) await gate.promise;
    });
    runner.start(id);
    for (let i = 0; i < 200 && (store.get(id)?.parts.length ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const cancelling = runner.cancel(id, { deletePosted: true });
    gate.resolve();
    const { transfer, deleted: count } = await cancelling;
    expect(transfer.status).toBe('cancelled');
    expect(view.ends.at(-1)).toEqual({ id, status: 'cancelled' });
    const posted = [...new Set(transfer.parts.map((p) => p.message_id))].map((m) => ({ channel_id: CHANNEL, message_id: m }));
    expect(deleted).toEqual([posted]);
    expect(count).toBe(posted.length);
    expect(transfer.parts.length).toBeLessThan(4);
  });

  it('GIVEN a member at their limit THEN reserve refuses, and a released slot is free again', async () => {
    const { runner } = await setup();
    // The setup's transfer is recorded (pending) and counts; two more fit under a limit of 3.
    const a = runner.reserve(OWNER, 3);
    const b = runner.reserve(OWNER, 3);
    expect(a && b).toBeTruthy();
    expect(runner.reserve(OWNER, 3)).toBeNull();
    a!.release();
    expect(runner.reserve(OWNER, 3)).not.toBeNull();
  });
});

/** The orchestrator's calls into an optional Metrics: per confirmed part, per retried attempt. */
import { DEFAULTS } from '../../src/config.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SinkError } from '../../src/errors.js';
import type { Metrics } from '../../src/metrics/types.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer } from '../../src/transfer/orchestrator.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { captureLogger, FakeSink } from './fakes.js';

const CHUNK = 1024; // bytes

class RecordingMetrics implements Metrics {
  readonly parts: { bytes: number; seconds: number }[] = [];
  readonly retries: string[] = [];
  rateLimitWaits = 0;
  partPosted(bytes: number, seconds: number): void {
    this.parts.push({ bytes, seconds });
  }
  retry(reason: string): void {
    this.retries.push(reason);
  }
  rateLimitWait(): void {
    this.rateLimitWaits++;
  }
}

async function run(size: number, sink: FakeSink, metrics?: Metrics) {
  const dir = await tempDir();
  const file = path.join(dir, 'data.bin');
  await writeSeededFile(file, size, 3);
  const store = new MemoryStore();
  const transfer = await store.create(
    await planFileTransfer({ realPath: file, relPath: 'data.bin', chunkSize: CHUNK, ownerId: '1'.repeat(18), channelId: '2'.repeat(18) }),
  );
  return runTransfer(
    {
      store,
      sink,
      log: captureLogger().log,
      config: { maxChunksPerMessage: 3, maxParallelUploads: 1, retryLimit: 5, backoffBaseMs: 1, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES },
      sleep: async () => undefined,
      ...(metrics ? { metrics } : {}),
    },
    transfer.id,
  );
}

describe('orchestrator metrics', () => {
  it('GIVEN two failed attempts of one message THEN one partPosted per part with its size and one retry per failed attempt', async () => {
    const sink = new FakeSink((call) => {
      if (call.indices[0] === 3 && call.attempt <= 2) throw new SinkError('Discord answered 502', 'transient', 'http_502');
    });
    const metrics = new RecordingMetrics();
    const final = await run(7 * CHUNK - 5, sink, metrics);
    expect(final.status).toBe('complete');
    expect(metrics.parts.map((p) => p.bytes)).toEqual([CHUNK, CHUNK, CHUNK, CHUNK, CHUNK, CHUNK, CHUNK - 5]);
    expect(metrics.parts.every((p) => p.seconds >= 0)).toBe(true);
    // Matches the progress file's `retries`: per message attempt, not per part.
    expect(metrics.retries).toEqual(['http_502', 'http_502']);
    expect(final.retries).toBe(2);
    expect(metrics.rateLimitWaits).toBe(0);
  });

  it('GIVEN no metrics THEN a transfer runs as before', async () => {
    const final = await run(2 * CHUNK, new FakeSink());
    expect(final.status).toBe('complete');
  });
});

/**
 * `npx tsx bench/store-write.ts [transfers] [parts]`: the cost of one progress-file write with
 * many transfers of many parts in the file (default 100 × 1,000). Each measured write is one
 * `store.update` (one part recorded on one transfer), awaited until durable, as the
 * orchestrator does after every message.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../src/store/file-store.js';
import type { ProgressFile, TransferRecord } from '../src/store/schema.js';
import { formatTable, quantile } from './stats.js';

const TRANSFERS = Number(process.argv[2] ?? 100);
const PARTS = Number(process.argv[3] ?? 1000);
const WRITES = 40;
const CHUNK = 8_000_000;

function snowflake(n: number): string {
  return (1_300_000_000_000_000_000n + BigInt(n)).toString();
}

function transfer(t: number, parts: number): TransferRecord {
  const id = `upload_${t.toString(36).padStart(6, '0')}`;
  const at = new Date(Date.now() - 60_000).toISOString();
  return {
    id,
    status: 'in_progress',
    source: {
      kind: 'file',
      path: `movies/file-${t}.mkv`,
      real_path: `/srv/files/movies/file-${t}.mkv`,
      size: (PARTS + 10) * CHUNK,
      mtime_ms: 1_700_000_000_000,
    },
    file_name: `file-${t}.mkv`,
    file_size: (PARTS + 10) * CHUNK,
    file_sha256: null,
    hash_algo: 'sha256',
    chunk_size_bytes: CHUNK,
    attachment_size_limit: 10_485_760,
    total_chunks: PARTS + 10,
    completed_chunks: Array.from({ length: parts }, (_, i) => i),
    parts: Array.from({ length: parts }, (_, i) => ({
      index: i,
      name: `file-${t}.mkv.part${String(i + 1).padStart(4, '0')}`,
      offset: i * CHUNK,
      size: CHUNK,
      sha256: createHash('sha256').update(`${t}.${i}`).digest('hex'),
      message_id: snowflake(t * 10_000 + i),
      attachment_id: snowflake(t * 10_000 + i + 5_000),
    })),
    chunk_attempts: Object.fromEntries(Array.from({ length: parts }, (_, i) => [String(i), 1])),
    owner_id: snowflake(1),
    guild_id: snowflake(2),
    channel_id: snowflake(3),
    progress_message_id: snowflake(4),
    progress_channel_id: null,
    progress_edit_landed: true,
    original_name: null,
    share_generation: 0,
    encryption: null,
    manifest_message_id: null,
    manifest_channel_id: null,
    threads: [],
    bytes_done: parts * CHUNK,
    retries: 0,
    created_at: at,
    updated_at: at,
    started_at: at,
    completed_at: null,
    notes: [],
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dfs-store-bench-'));
  const file = path.join(dir, 'transfer_progress.json');
  try {
    const data: ProgressFile = { schema_version: 1, active_transfers: Array.from({ length: TRANSFERS }, (_, t) => transfer(t, PARTS)) };
    await writeFile(file, `${JSON.stringify(data, null, 1)}\n`);
    const size = (await stat(file)).size;
    const store = await FileStore.open(file);
    const target = data.active_transfers[0]!.id;
    const times: number[] = [];
    for (let w = 0; w < WRITES; w++) {
      const index = PARTS + (w % 10);
      const t0 = performance.now();
      await store.update(target, (draft) => {
        draft.parts = draft.parts.filter((p) => p.index !== index);
        draft.parts.push({
          index,
          name: `x.part${index}`,
          offset: index * CHUNK,
          size: CHUNK,
          sha256: 'a'.repeat(64),
          message_id: snowflake(w),
          attachment_id: snowflake(w + 1),
        });
        draft.chunk_attempts[String(index)] = 1;
      });
      times.push(performance.now() - t0);
    }
    // The same number of bursts of 10 changes arriving together (several transfers at once).
    const burst: number[] = [];
    for (let w = 0; w < 10; w++) {
      const t0 = performance.now();
      await Promise.all(data.active_transfers.slice(0, 10).map((t) => store.update(t.id, (d) => void d.notes.push(`n${w}`))));
      burst.push(performance.now() - t0);
    }
    await store.close();
    process.stdout.write(
      `progress file: ${TRANSFERS} transfers × ${PARTS} parts = ${(size / 1024 / 1024).toFixed(1)} MiB; ${WRITES} single writes, 10 bursts of 10 changes\n` +
        formatTable(
          ['write', 'median ms', 'p95 ms', 'max ms'],
          [
            ['one update, awaited', quantile(times, 0.5), quantile(times, 0.95), Math.max(...times)],
            ['10 updates together', quantile(burst, 0.5), quantile(burst, 0.95), Math.max(...burst)],
          ],
        ) +
        '\n',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

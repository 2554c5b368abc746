/**
 * Shards on one host share STAGING_DIR as they share the folder of the progress file: each
 * shard's start-up sweep removes the staging folders of transfers its own progress file does
 * not know, so each shard must stage in a folder of its own (src/sharding/layout.ts).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { configForShard } from '../../src/sharding/layout.js';
import { SendUploads } from '../../src/send/uploads.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { sendTransfer } from '../../src/transfer/new-transfer.js';
import { MIB } from '../support/units.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const silent = createLogger({ level: 'silent' });

function uploadsOf(stagingDir: string, store: MemoryStore): SendUploads {
  return new SendUploads({ dir: stagingDir, perUploadBytes: 4 * MIB, maxBytes: 64 * MIB, expiryMs: 3_600_000 }, { store, log: silent });
}

describe('staging with several shards', () => {
  it('GIVEN two shards sharing STAGING_DIR WHEN shard 0 starts THEN the staged bytes of shard 1 upload in progress are still there', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfs-shard-staging-'));
    const config = loadConfig({ STAGING_DIR: path.join(dir, 'staging'), PROGRESS_FILE_PATH: path.join(dir, 'transfer_progress.json') });
    const [zero, one] = [configForShard(config, { id: 0, count: 2 }), configForShard(config, { id: 1, count: 2 })];

    // Shard 1 is receiving a file: its transfer is in its own progress file, its bytes in its staging folder.
    const id = 'upload_shardone01';
    const shardOne = new MemoryStore();
    await shardOne.create(
      sendTransfer({ id, chunkSize: MIB, attachmentSizeLimit: null, ownerId: '1', channelId: '2', guildId: '3' }, 'film.mkv', 3 * MIB),
    );
    await shardOne.setStatus(id, 'in_progress');
    const folder = path.join(one.STAGING_DIR, id);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, '0000000000000000.part'), Buffer.alloc(1000, 7));

    // Shard 0 (re)starts: its progress file knows nothing of that transfer.
    await uploadsOf(zero.STAGING_DIR, new MemoryStore()).sweepFolders();
    expect(await readdir(folder)).toEqual(['0000000000000000.part']);
    // Shard 1's own sweep keeps it too (it knows the transfer), and removes what it does not know.
    const stray = path.join(one.STAGING_DIR, 'upload_gone000001');
    await mkdir(stray);
    await uploadsOf(one.STAGING_DIR, shardOne).sweepFolders();
    expect((await readdir(one.STAGING_DIR)).sort()).toEqual([id]);
  });

  it('GIVEN no shard (npm start) THEN STAGING_DIR is as configured', () => {
    const config = loadConfig({ STAGING_DIR: '/srv/dfs/staging' });
    expect(configForShard(config, null).STAGING_DIR).toBe(path.resolve('/srv/dfs/staging'));
  });
});

/** Several members at once, MAX_ACTIVE_TRANSFERS, a store valid after every write, and retention. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { progressFileSchema } from '../../src/store/schema.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const MEMBERS = ['200000000000000001', '200000000000000002', '200000000000000003'];

describe('five transfers at once from three members', () => {
  let fx: BotFixture;
  const sha = new Map<string, string>();
  beforeAll(async () => {
    fx = await startBotFixture({ env: { MAX_ACTIVE_TRANSFERS: '2', MAX_CHUNKS_PER_MESSAGE: '2', MAX_PARALLEL_UPLOADS: '2' } });
    for (let i = 0; i < 6; i++) sha.set(`f${i}.bin`, await writeSeededFile(path.join(fx.filesRoot, `f${i}.bin`), 6 * MIB + 1 + i, 300 + i));
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN MAX_ACTIVE_TRANSFERS 2 THEN a third for one member is refused, the five others complete and every read of the store is valid', async () => {
    fx.fake.faults.add({ route: MESSAGES, kind: 'delay', ms: 30, times: 10_000 });
    const as = (member: string) => ({ user: { id: member }, permissions: PERMISSIONS.ADMINISTRATOR });
    const started: string[] = [];
    started.push(await fx.split('f0.bin', { ...as(MEMBERS[0]!), chunkSizeMiB: 1 }));
    started.push(await fx.split('f1.bin', { ...as(MEMBERS[0]!), chunkSizeMiB: 1 }));
    const refused = await fx.command({ name: 'split', ...as(MEMBERS[0]!), options: [{ name: 'path', type: 3, value: 'f5.bin' }] });
    await refused.waitFor((h) => Boolean(h.original()?.content));
    expect(refused.ephemeral()).toBe(true);
    expect(refused.original()?.content).toMatch(/already have 2 unfinished transfers/);
    started.push(await fx.split('f2.bin', { ...as(MEMBERS[1]!), chunkSizeMiB: 1 }));
    started.push(await fx.split('f3.bin', { ...as(MEMBERS[1]!), chunkSizeMiB: 1 }));
    started.push(await fx.split('f4.bin', { ...as(MEMBERS[2]!), chunkSizeMiB: 1 }));

    // Read the store continuously while they run: every read must parse and pass the schema.
    let reads = 0;
    const deadline = Date.now() + 60_000;
    let done = false;
    while (!done && Date.now() < deadline) {
      const text = await fs.readFile(fx.progressPath, 'utf8');
      const file = progressFileSchema.parse(JSON.parse(text));
      reads++;
      done = started.every((id) => file.active_transfers.find((t) => t.id === id)?.status === 'complete');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(done).toBe(true);
    expect(reads).toBeGreaterThan(5);

    const file = await fx.readProgress();
    expect(file.active_transfers).toHaveLength(5);
    for (const [i, id] of started.entries()) {
      const t = file.active_transfers.find((x) => x.id === id)!;
      // No lost update: every part recorded, with its message.
      expect(t.completed_chunks).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(t.parts.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha.get(`f${i}.bin`));
    }
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

describe('retention', () => {
  let fx: BotFixture | undefined;
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN finished transfers older than RETENTION_HOURS THEN start-up prunes them and keeps the rest', async () => {
    const old = '2020-01-01T00:00:00.000Z';
    const recent = new Date().toISOString();
    const record = (id: string, status: string, at: string) => ({
      id,
      status,
      source: { kind: 'file', path: 'a.bin', real_path: '/nonexistent/a.bin', size: 10, mtime_ms: 0 },
      file_name: 'a.bin',
      file_size: 10,
      chunk_size_bytes: 10,
      total_chunks: 1,
      owner_id: MEMBERS[0],
      channel_id: '300000000000000001',
      created_at: at,
      updated_at: at,
    });
    const seed = {
      schema_version: 1,
      active_transfers: [
        record('upload_oldcomplete', 'complete', old),
        record('upload_oldcancel', 'cancelled', old),
        record('upload_newcomplete', 'complete', recent),
        record('upload_olderror', 'error', old),
      ],
    };
    fx = await startBotFixture({ env: { RETENTION_HOURS: '24', AUTO_RESUME: 'false' } });
    await fx.bot.kill('SIGKILL');
    await fs.writeFile(fx.progressPath, JSON.stringify(seed));
    await fx.restartBot();
    const ids = (await fx.readProgress()).active_transfers.map((t) => t.id).sort();
    expect(ids).toEqual(['upload_newcomplete']);
  });
});

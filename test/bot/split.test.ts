import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { waitUntil } from '../support/held.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

describe('/split end to end (bot process + fake Discord)', () => {
  let fx: BotFixture;
  beforeAll(async () => {
    fx = await startBotFixture({ env: { MAX_ACTIVE_TRANSFERS: '10' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it.each([
    ['1 byte', 1],
    ['exactly one part', 8_000_000],
    ['25 MiB + 1', 25 * MIB + 1],
    ['100 MiB', 100 * MIB],
  ])('GIVEN a %s file THEN the posted parts rebuild it and the progress file ends complete', async (label, size) => {
    const name = `${label.replace(/\W+/g, '-')}.bin`;
    const sha = await writeSeededFile(path.join(fx.filesRoot, name), size, size % 9973);
    const id = await fx.split(name);
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 90_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.file_sha256).toBe(sha);
    expect(t.total_chunks).toBe(Math.ceil(size / 8_000_000));
    expect(t.completed_chunks).toEqual(Array.from({ length: t.total_chunks ?? 0 }, (_, i) => i));

    const rebuilt = rebuildFromFake(fx.fake, id);
    expect(rebuilt.size).toBe(size);
    expect(rebuilt.sha256).toBe(sha);
    expect(rebuilt.manifest.file).toEqual({ name, size, sha256: sha });
    // Each part exactly once, and the record names the message that holds it.
    const names = rebuilt.partAttachments.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBe(t.total_chunks);
    for (const part of t.parts) {
      const posted = rebuilt.partAttachments.find((p) => p.name === part.name);
      expect(posted?.messageId).toBe(part.message_id);
      const chunk = rebuilt.manifest.chunks[part.index];
      expect(chunk).toMatchObject({ name: part.name, sha256: part.sha256, message_id: part.message_id, attachment_id: part.attachment_id });
    }
    expect(t.manifest_message_id).toBe(rebuilt.manifestMessage.id);
    // The progress message gets its final edit just after the record says complete.
    const progressText = () => fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content ?? '';
    await waitUntil(() => progressText().includes('complete'), 'the progress message says complete').catch(() => undefined);
    expect(progressText()).toContain('complete');
    expect(Object.values(t.chunk_attempts).every((n) => n === 1)).toBe(true);
  });

  it('GIVEN two files whose names are all Cyrillic THEN each transfer names its parts after its id, so they do not collide', async () => {
    const names: string[] = [];
    for (const [i, file] of ['отчёт.pdf', 'счёт.pdf'].entries()) {
      const sha = await writeSeededFile(path.join(fx.filesRoot, file), 1000, 70 + i);
      const id = await fx.split(file);
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(t.file_name).toBe(`${id}.pdf`);
      const rebuilt = rebuildFromFake(fx.fake, id);
      expect(rebuilt.sha256).toBe(sha);
      expect(rebuilt.partAttachments.map((p) => p.name)).toEqual([`${id}.pdf.part001`]);
      names.push(t.file_name);
    }
    expect(new Set(names).size).toBe(2);
  });

  it('GIVEN the transfers above THEN no message exceeds 3 parts or 25 MiB and the bot logged no error', () => {
    for (const m of fx.fake.messages()) {
      expect(m.attachments.length).toBeLessThanOrEqual(3);
      expect(m.attachments.reduce((s, a) => s + a.size, 0)).toBeLessThanOrEqual(25 * MIB);
    }
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

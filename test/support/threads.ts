/**
 * What a transfer that fell back to its channel (no thread permissions) must show: no thread
 * made or recorded, every part and the manifest in the channel, the file rebuilt from there,
 * and the note saying why in the record and in the progress message's end state.
 */
import { expect } from 'vitest';
import type { BotFixture } from './bot-fixture.js';
import { waitUntil } from './held.js';
import { rebuildFromFake } from './rebuild.js';
import type { StoredTransfer } from '../../src/store/types.js';

/** `t` (complete) fell back to `channelId` with `parts` parts whose rebuilt file has `sha256`, and says `note`. */
export async function expectInChannel(
  fx: BotFixture,
  t: StoredTransfer,
  channelId: string,
  parts: number,
  sha256: string,
  note: string,
): Promise<void> {
  expect(t.status, t.notes.join('; ')).toBe('complete');
  expect(t.threads).toEqual([]);
  expect(fx.fake.threads(channelId)).toEqual([]);
  expect(t.parts.map((p) => p.channel_id)).toEqual(Array(parts).fill(channelId));
  expect(t.manifest_channel_id).toBe(channelId);
  expect(rebuildFromFake(fx.fake, t.id, channelId).sha256).toBe(sha256);
  expect(t.notes).toContain(note);
  await waitUntil(
    () => fx.fake.messages(channelId).some((m) => m.id === t.progress_message_id && m.content.includes('✅ complete')),
    'the end state',
  );
  expect(fx.fake.messages(channelId).find((m) => m.id === t.progress_message_id)!.content).toContain(`🧵 ${note}`);
}

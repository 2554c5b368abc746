/** The page's view of a transfer: links to its messages point where each message is. */
import { describe, expect, it } from 'vitest';
import { transferSchema } from '../../src/store/schema.js';
import { transferView, type LiveState } from '../../src/web/view.js';

const idle: LiveState = { isRunning: () => false, throughput: () => null, inFlight: () => [], waiting: () => false };
const actor = { userId: '1', mayStart: true, mayActOnOthers: false };
const now = '2030-01-01T00:00:00.000Z';
const complete = (extra: Record<string, unknown>) =>
  transferSchema.parse({
    id: 'upload_view01',
    status: 'complete',
    source: { kind: 'file', path: 'a.bin', real_path: '/x/a.bin', size: 1, mtime_ms: 0 },
    file_name: 'a.bin',
    file_size: 1,
    chunk_size_bytes: 1,
    total_chunks: 1,
    owner_id: '1',
    guild_id: '10',
    channel_id: '20',
    progress_message_id: '30',
    manifest_message_id: '40',
    created_at: now,
    updated_at: now,
    ...extra,
  });

describe('transferView', () => {
  it('GIVEN a manifest posted in a thread THEN its link points into the thread, and the progress message link into the channel', () => {
    const view = transferView(complete({ manifest_channel_id: '50', threads: [{ id: '50', lane: 0 }] }), actor, idle);
    expect(view.manifestUrl).toBe('https://discord.com/channels/10/50/40');
    expect(view.progressUrl).toBe('https://discord.com/channels/10/20/30');
  });

  it('GIVEN a transfer with threads of its own THEN it links each, its own thread first, and none without them', () => {
    const view = transferView(
      complete({
        threads: [
          { id: '70', lane: 2 },
          { id: '50', lane: 0 },
          { id: '60', lane: 1 },
        ],
      }),
      actor,
      idle,
    );
    expect(view.threadUrls).toEqual([
      'https://discord.com/channels/10/50',
      'https://discord.com/channels/10/60',
      'https://discord.com/channels/10/70',
    ]);
    expect(transferView(complete({}), actor, idle).threadUrls).toEqual([]);
  });

  it('GIVEN a transfer into a forum THEN the progress message link names its post, where the message is', () => {
    const view = transferView(complete({ progress_channel_id: '30', manifest_channel_id: '30', threads: [{ id: '30', lane: 0 }] }), actor, idle);
    expect(view.progressUrl).toBe('https://discord.com/channels/10/30/30');
    expect(view.manifestUrl).toBe('https://discord.com/channels/10/30/40');
  });

  it('GIVEN a record from before the manifest channel was kept THEN the manifest link points into the channel', () => {
    expect(transferView(complete({}), actor, idle).manifestUrl).toBe('https://discord.com/channels/10/20/40');
  });
});

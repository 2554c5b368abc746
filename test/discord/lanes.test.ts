/** Which lane a part message goes to (src/discord/lanes.ts) and what a lane's thread is called (threads.ts). */
import { describe, expect, it } from 'vitest';
import { LanePicker } from '../../src/discord/lanes.js';
import { laneName, ownThreadName } from '../../src/discord/thread-names.js';

const CHANNEL = '400000000000000001';
const transfer = {
  channel_id: CHANNEL,
  threads: [
    { id: 'lane-c', lane: 2 },
    { id: 'lane-a', lane: 0 },
    { id: 'lane-b', lane: 1 },
    { id: 'lane-d', lane: 3 },
  ],
};

describe('the lane of a part message', () => {
  it('GIVEN three lanes THEN each message goes to the one with the fewest in flight, ties to the lowest; a lane above MAX_PARALLEL_UPLOADS gets none', () => {
    const lanes = new LanePicker(3, () => 0);
    const first = lanes.take(transfer, 'n.0');
    const second = lanes.take(transfer, 'n.1');
    const third = lanes.take(transfer, 'n.2');
    expect([first, second, third].map((t) => t.channelId)).toEqual(['lane-a', 'lane-b', 'lane-c']);
    second.release(true);
    expect(lanes.take(transfer, 'n.3').channelId).toBe('lane-b');
    expect(lanes.take(transfer, 'n.4').channelId).toBe('lane-a');
  });

  it('GIVEN lanes equally busy THEN the one whose bucket has room soonest', () => {
    const lanes = new LanePicker(3, (id) => ({ 'lane-a': 900, 'lane-b': 40, 'lane-c': 300 })[id] ?? 0);
    expect(lanes.take(transfer, 'n.0').channelId).toBe('lane-b');
  });

  it('GIVEN a message that failed WHEN it is sent again (the same nonce) THEN it goes to the lane of its first attempt, though another is idler', () => {
    const lanes = new LanePicker(3, () => 0);
    const first = lanes.take(transfer, 'n.0');
    const busy = lanes.take(transfer, 'n.1');
    first.release(false);
    const again = lanes.take(transfer, 'n.0');
    expect(again.channelId).toBe(first.channelId);
    again.release(true);
    busy.release(true);
    // Posted: the nonce is forgotten.
    lanes.take(transfer, 'n.9');
    expect(lanes.take(transfer, 'n.0').channelId).toBe('lane-b');
  });

  it('GIVEN a retry whose lane is no longer in use (replaced) THEN it goes to a lane in use', () => {
    const lanes = new LanePicker(3, () => 0);
    expect(lanes.take(transfer, 'n.0').channelId).toBe('lane-a');
    const replaced = { ...transfer, threads: transfer.threads.filter((t) => t.id !== 'lane-a').concat({ id: 'lane-e', lane: 0 }) };
    expect(lanes.take(replaced, 'n.0').channelId).toBe('lane-e');
  });

  it('GIVEN no thread of its own THEN every message goes to the channel (one lane)', () => {
    const lanes = new LanePicker(4, () => 0);
    const t = { channel_id: CHANNEL, threads: [] };
    expect([lanes.take(t, 'a').channelId, lanes.take(t, 'b').channelId]).toEqual([CHANNEL, CHANNEL]);
  });
});

describe("a lane's thread name", () => {
  it('GIVEN a short name THEN `<name> · 2/4`', () => {
    expect(laneName('season finale.mkv', 1, 4)).toBe('season finale.mkv · 2/4');
  });

  it('GIVEN a long name THEN it is cut so the whole is at most 100, its suffix whole, no character split', () => {
    const name = laneName(`${'é'.repeat(50)}${'😀'.repeat(60)}`, 7, 8);
    expect(name.length).toBeLessThanOrEqual(100);
    expect(name.length).toBeGreaterThanOrEqual(99);
    expect(name).toBe(`${'é'.repeat(50)}${'😀'.repeat(22)} · 8/8`);
  });
});

describe("the transfer's own thread name", () => {
  const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

  it('GIVEN a name of 100+ characters with emoji across the cut THEN at most 100, no surrogate pair or character split', () => {
    const name = ownThreadName(`${'a'.repeat(99)}😀😀 finale.mkv`);
    expect(name).toBe('a'.repeat(99));
    expect(wellFormed(name)).toBe(true);
  });

  it('GIVEN combining marks, RTL and zero-width characters across the cut THEN the cut falls between characters', () => {
    const name = ownThreadName(`${'x'.repeat(98)}e\u0301\u0327\u200dمرحبا.mkv`);
    expect(name).toBe('x'.repeat(98));
  });

  it('GIVEN one character longer than the limit alone (a mark piled on a mark) THEN cut by code points, never empty', () => {
    const name = ownThreadName(`😀${'\u0301'.repeat(150)}`);
    expect(name.length).toBeGreaterThan(0);
    expect(name.length).toBeLessThanOrEqual(100);
    expect(wellFormed(name)).toBe(true);
    const lane = laneName(`😀${'\u0301'.repeat(150)}`, 1, 3);
    expect(lane.endsWith(' · 2/3')).toBe(true);
    expect(lane.length).toBeLessThanOrEqual(100);
    expect(lane.length).toBeGreaterThan(' · 2/3'.length);
    expect(wellFormed(lane)).toBe(true);
  });
});

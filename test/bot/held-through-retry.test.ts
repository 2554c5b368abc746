/**
 * A message that fails while the next one's body is already on its way (src/transfer/pipeline.ts):
 * the next one stays held, its bytes already sent, while the failed one is sent again, and
 * completes after it; nothing is cut off and sent a second time. The fake holds its answer
 * to the failing message until the next message's request has reached it, so the overlap is
 * there every time, whatever the machine's speed.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { FakeDiscord, Fault, FaultSpec, RecordedRequest } from '../support/fake-discord/types.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const CREATE = 'POST /channels/:id/messages';
const PARTS = 6;

/** The part messages of a transfer in the order Discord created them, as part indices. */
function partsInCreationOrder(fake: FakeDiscord, id: string): number[] {
  return fake
    .allMessagesEver()
    .filter((m) => m.content.includes(id))
    .flatMap((m) => m.attachments.filter((a) => a.filename.includes('.part')).map((a) => Number(/\.part(\d+)$/.exec(a.filename)![1]) - 1));
}

/** Resolves once a message create other than `self` has reached the fake (bounded: 20 s). */
async function anotherCreateStarted(fake: FakeDiscord, self: () => RecordedRequest | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (fake.pendingRequests().some((r) => r.route === CREATE && r !== self())) return;
    await sleep(5);
  }
  throw new Error('the next message never started while the one before was with Discord');
}

/**
 * The fault on the third message create (part 1, after the progress message and part 0), its
 * answer held until the next one (part 2) has started streaming.
 */
function onPartOneWhilePartTwoStreams(fake: FakeDiscord, fault: FaultSpec): Fault {
  let creates = 0;
  let mine: RecordedRequest | undefined;
  return {
    ...fault,
    times: 1,
    hold: () => anotherCreateStarted(fake, () => mine),
    route: (r) => {
      if (r.route !== CREATE || ++creates !== 3) return false;
      mine = fake
        .pendingRequests()
        .filter((p) => p.route === CREATE)
        .at(-1);
      return true;
    },
  };
}

describe('a message failing while the next one is held', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  const cases: [string, FaultSpec, number][] = [
    ['a 500', { kind: 'status', status: 500 }, 2],
    ['a 429', { kind: 'rateLimit', retryAfterMs: 200 }, 1],
    ['a dropped connection', { kind: 'dropConnection' }, 2],
  ];

  it.each(cases)(
    'GIVEN %s on a message while the next one streams THEN the next one is not cut off: its body goes once, every part once and in order',
    async (_label, fault, attemptsOfFailed) => {
      fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
      const sha = await writeSeededFile(path.join(fx.filesRoot, 'held.bin'), (PARTS - 1) * MIB + 7, 91);
      fx.fake.faults.add(onPartOneWhilePartTwoStreams(fx.fake, fault));
      const id = await fx.split('held.bin', { chunkSizeMiB: 1 });
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(fx.fake.faults.pending()).toEqual([]);
      const creates = fx.fake.requests.filter((r) => r.route === CREATE);
      // Cut off by the bot: no answer, and no fault of the fake's.
      expect(creates.filter((r) => r.status === 0 && r.fault === undefined)).toEqual([]);
      // The progress message, each part once, the failed one's second go, the manifest.
      expect(creates).toHaveLength(1 + PARTS + 1 + 1);
      expect(partsInCreationOrder(fx.fake, id)).toEqual(Array.from({ length: PARTS }, (_, i) => i));
      const names = postedPartNames(fx.fake, id);
      expect(new Set(names).size).toBe(names.length);
      expect(t.chunk_attempts).toEqual({ '0': 1, '1': attemptsOfFailed, '2': 1, '3': 1, '4': 1, '5': 1 });
      expect(fx.bot.logs.filter((l) => l.event === 'chunk_held_back')).toEqual([]);
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
      expect(unexpectedErrors(fx.bot)).toEqual([]);
    },
  );
});

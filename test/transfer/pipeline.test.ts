/** The order of a run's messages on their way (src/transfer/pipeline.ts), step by step: no real timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldBackError } from '../../src/errors.js';
import { UploadPipeline, type Turn } from '../../src/transfer/pipeline.js';

/** Whether `p` has settled once pending callbacks ran, and how. */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  void p.then(
    () => (s = 'resolved'),
    () => (s = 'rejected'),
  );
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return s;
}

async function entered(p: Promise<Turn | null>): Promise<Turn> {
  const turn = await p;
  if (!turn) throw new Error('no turn');
  return turn;
}

describe('the upload pipeline', () => {
  it('GIVEN one message at a time WHEN the first has sent its body THEN the second streams meanwhile but completes only once the first is answered', async () => {
    const pipeline = new UploadPipeline(1, new AbortController().signal);
    const first = await entered(pipeline.enter());
    const second = pipeline.enter();
    expect(await state(second)).toBe('pending');
    first.sent();
    expect(await state(second)).toBe('resolved');
    const two = await entered(second);
    await first.mayComplete();
    const third = pipeline.enter();
    const twoCompletes = two.mayComplete();
    expect(await state(twoCompletes)).toBe('pending');
    expect(await state(third)).toBe('pending');
    first.leave(true);
    expect(await state(twoCompletes)).toBe('resolved');
    // Two is with Discord now: a third may stream.
    expect(await state(third)).toBe('resolved');
  });

  it('GIVEN the first fails an attempt while the second is held THEN the second stays held, its request open, and completes once the first was sent again and answered', async () => {
    const pipeline = new UploadPipeline(1, new AbortController().signal);
    const first = await entered(pipeline.enter());
    first.sent();
    const second = await entered(pipeline.enter());
    await first.mayComplete();
    const waiting = second.mayComplete();
    first.failed();
    expect(await state(waiting)).toBe('pending');
    expect(() => second.check()).not.toThrow();
    expect(second.again).toBe(false);
    expect(second.heldBack).toBe(false);
    expect(first.again).toBe(true);
    // No third message while the first is to be sent again.
    const third = pipeline.enter();
    await first.restart();
    first.sent();
    await first.mayComplete();
    expect(await state(waiting)).toBe('pending');
    expect(await state(third)).toBe('pending');
    first.leave(true);
    expect(await state(waiting)).toBe('resolved');
    expect(await state(third)).toBe('resolved');
  });

  it('GIVEN the first fails while the second still streams its body THEN the first is sent again only once that body is out', async () => {
    const pipeline = new UploadPipeline(1, new AbortController().signal);
    const first = await entered(pipeline.enter());
    first.sent();
    const second = await entered(pipeline.enter());
    await first.mayComplete();
    first.failed();
    const again = first.restart();
    expect(await state(again)).toBe('pending');
    const waiting = second.mayComplete();
    expect(await state(again)).toBe('resolved');
    expect(await state(waiting)).toBe('pending');
  });

  describe('with a bound on the wait for a message sent again (fake timers)', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('GIVEN the first is not answered within holdForRetryMs of its failure THEN the second is held back and sent again after it', async () => {
      const pipeline = new UploadPipeline(1, new AbortController().signal, 1_000);
      const first = await entered(pipeline.enter());
      first.sent();
      const second = await entered(pipeline.enter());
      await first.mayComplete();
      const waiting = second.mayComplete();
      first.failed();
      await vi.advanceTimersByTimeAsync(999);
      expect(await state(waiting)).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      await expect(waiting).rejects.toBeInstanceOf(HeldBackError);
      expect(() => second.check()).toThrow(HeldBackError);
      expect(second.again).toBe(true);
      expect(second.heldBack).toBe(true);
      await first.restart();
      const secondAgain = second.restart();
      expect(await state(secondAgain)).toBe('pending');
      first.sent();
      await first.mayComplete();
      expect(await state(secondAgain)).toBe('resolved');
      expect(second.heldBack).toBe(false);
      const completes = second.mayComplete();
      expect(await state(completes)).toBe('pending');
      first.leave(true);
      expect(await state(completes)).toBe('resolved');
    });

    it('GIVEN the first was sent again within the bound THEN waiting for its answer afterwards is the ordinary hold, however long', async () => {
      const pipeline = new UploadPipeline(1, new AbortController().signal, 1_000);
      const first = await entered(pipeline.enter());
      first.sent();
      const second = await entered(pipeline.enter());
      await first.mayComplete();
      const waiting = second.mayComplete();
      first.failed();
      await first.restart();
      first.sent();
      await first.mayComplete();
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await state(waiting)).toBe('pending');
      expect(second.heldBack).toBe(false);
      first.leave(true);
      expect(await state(waiting)).toBe('resolved');
    });
  });

  it('GIVEN MAX_PARALLEL_UPLOADS 2 THEN two may be with Discord at once, a third streams meanwhile and waits for one of their answers', async () => {
    const pipeline = new UploadPipeline(2, new AbortController().signal);
    const a = await entered(pipeline.enter());
    const b = await entered(pipeline.enter());
    const c = pipeline.enter();
    expect(await state(c)).toBe('pending');
    await a.mayComplete();
    expect(await state(c)).toBe('resolved');
    await b.mayComplete();
    const third = await entered(c);
    const done = third.mayComplete();
    expect(await state(done)).toBe('pending');
    expect(await state(pipeline.enter())).toBe('pending');
    b.leave(true);
    expect(await state(done)).toBe('resolved');
  });

  it('GIVEN the run stops dispatching THEN a held message is held back and a waiting message gets no turn', async () => {
    const stop = new AbortController();
    const pipeline = new UploadPipeline(1, stop.signal);
    const first = await entered(pipeline.enter());
    first.sent();
    const second = await entered(pipeline.enter());
    const third = pipeline.enter();
    const held = second.mayComplete();
    await first.mayComplete();
    stop.abort(new Error('cancelled'));
    await expect(held).rejects.toBeInstanceOf(HeldBackError);
    expect(await third).toBeNull();
    expect(() => second.check()).toThrow(HeldBackError);
  });

  it('GIVEN a message given up THEN the held message after it is held back', async () => {
    const pipeline = new UploadPipeline(1, new AbortController().signal);
    const first = await entered(pipeline.enter());
    first.sent();
    const second = await entered(pipeline.enter());
    const held = second.mayComplete();
    first.leave(false);
    await expect(held).rejects.toBeInstanceOf(HeldBackError);
  });

  it('GIVEN a sink that never says its body was sent THEN the next message starts only when this one leaves', async () => {
    const pipeline = new UploadPipeline(1, new AbortController().signal);
    const first = await entered(pipeline.enter());
    const next = pipeline.enter();
    expect(await state(next)).toBe('pending');
    first.leave(true);
    expect(await state(next)).toBe('resolved');
  });
});

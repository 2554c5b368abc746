/** The order of a run's messages on their way (src/transfer/pipeline.ts), step by step: no real timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldBackError } from '../../src/errors.js';
import { MessagePipeline, type PipelineMessage } from '../../src/transfer/pipeline.js';

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

async function admitted(p: Promise<PipelineMessage | null>): Promise<PipelineMessage> {
  const message = await p;
  if (!message) throw new Error('not admitted');
  return message;
}

describe('the upload pipeline', () => {
  it('GIVEN one message at a time WHEN the first has sent its body THEN the second streams meanwhile but completes only once the first is answered', async () => {
    const pipeline = new MessagePipeline(1, new AbortController().signal);
    const first = await admitted(pipeline.admit());
    const second = pipeline.admit();
    expect(await state(second)).toBe('pending');
    first.bodySent();
    expect(await state(second)).toBe('resolved');
    const two = await admitted(second);
    await first.waitToComplete();
    const third = pipeline.admit();
    const twoCompletes = two.waitToComplete();
    expect(await state(twoCompletes)).toBe('pending');
    expect(await state(third)).toBe('pending');
    first.finish(true);
    expect(await state(twoCompletes)).toBe('resolved');
    // Two is with Discord now: a third may stream.
    expect(await state(third)).toBe('resolved');
  });

  it('GIVEN the first fails an attempt while the second is held THEN the second stays held, its request open, and completes once the first was sent again and answered', async () => {
    const pipeline = new MessagePipeline(1, new AbortController().signal);
    const first = await admitted(pipeline.admit());
    first.bodySent();
    const second = await admitted(pipeline.admit());
    await first.waitToComplete();
    const waiting = second.waitToComplete();
    first.attemptFailed();
    expect(await state(waiting)).toBe('pending');
    expect(() => second.throwIfHeldBack()).not.toThrow();
    expect(second.mustResend).toBe(false);
    expect(second.heldBack).toBe(false);
    expect(first.mustResend).toBe(true);
    // No third message while the first is to be sent again.
    const third = pipeline.admit();
    await first.waitToResend();
    first.bodySent();
    await first.waitToComplete();
    expect(await state(waiting)).toBe('pending');
    expect(await state(third)).toBe('pending');
    first.finish(true);
    expect(await state(waiting)).toBe('resolved');
    expect(await state(third)).toBe('resolved');
  });

  it('GIVEN the first fails while the second still streams its body THEN the first is sent again only once that body is out', async () => {
    const pipeline = new MessagePipeline(1, new AbortController().signal);
    const first = await admitted(pipeline.admit());
    first.bodySent();
    const second = await admitted(pipeline.admit());
    await first.waitToComplete();
    first.attemptFailed();
    const again = first.waitToResend();
    expect(await state(again)).toBe('pending');
    const waiting = second.waitToComplete();
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
      const pipeline = new MessagePipeline(1, new AbortController().signal, 1_000);
      const first = await admitted(pipeline.admit());
      first.bodySent();
      const second = await admitted(pipeline.admit());
      await first.waitToComplete();
      const waiting = second.waitToComplete();
      first.attemptFailed();
      await vi.advanceTimersByTimeAsync(999);
      expect(await state(waiting)).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      await expect(waiting).rejects.toBeInstanceOf(HeldBackError);
      expect(() => second.throwIfHeldBack()).toThrow(HeldBackError);
      expect(second.mustResend).toBe(true);
      expect(second.heldBack).toBe(true);
      await first.waitToResend();
      const secondAgain = second.waitToResend();
      expect(await state(secondAgain)).toBe('pending');
      first.bodySent();
      await first.waitToComplete();
      expect(await state(secondAgain)).toBe('resolved');
      expect(second.heldBack).toBe(false);
      const completes = second.waitToComplete();
      expect(await state(completes)).toBe('pending');
      first.finish(true);
      expect(await state(completes)).toBe('resolved');
    });

    it('GIVEN the first was sent again within the bound THEN waiting for its answer afterwards is the ordinary hold, however long', async () => {
      const pipeline = new MessagePipeline(1, new AbortController().signal, 1_000);
      const first = await admitted(pipeline.admit());
      first.bodySent();
      const second = await admitted(pipeline.admit());
      await first.waitToComplete();
      const waiting = second.waitToComplete();
      first.attemptFailed();
      await first.waitToResend();
      first.bodySent();
      await first.waitToComplete();
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await state(waiting)).toBe('pending');
      expect(second.heldBack).toBe(false);
      first.finish(true);
      expect(await state(waiting)).toBe('resolved');
    });
  });

  it('GIVEN MAX_PARALLEL_UPLOADS 2 THEN two may be with Discord at once, a third streams meanwhile and waits for one of their answers', async () => {
    const pipeline = new MessagePipeline(2, new AbortController().signal);
    const a = await admitted(pipeline.admit());
    const b = await admitted(pipeline.admit());
    const c = pipeline.admit();
    expect(await state(c)).toBe('pending');
    await a.waitToComplete();
    expect(await state(c)).toBe('resolved');
    await b.waitToComplete();
    const third = await admitted(c);
    const done = third.waitToComplete();
    expect(await state(done)).toBe('pending');
    expect(await state(pipeline.admit())).toBe('pending');
    b.finish(true);
    expect(await state(done)).toBe('resolved');
  });

  it('GIVEN the run stops dispatching THEN a held message is held back and a waiting message gets no turn', async () => {
    const stop = new AbortController();
    const pipeline = new MessagePipeline(1, stop.signal);
    const first = await admitted(pipeline.admit());
    first.bodySent();
    const second = await admitted(pipeline.admit());
    const third = pipeline.admit();
    const held = second.waitToComplete();
    await first.waitToComplete();
    stop.abort(new Error('cancelled'));
    await expect(held).rejects.toBeInstanceOf(HeldBackError);
    expect(await third).toBeNull();
    expect(() => second.throwIfHeldBack()).toThrow(HeldBackError);
  });

  it('GIVEN a message given up THEN the held message after it is held back', async () => {
    const pipeline = new MessagePipeline(1, new AbortController().signal);
    const first = await admitted(pipeline.admit());
    first.bodySent();
    const second = await admitted(pipeline.admit());
    const held = second.waitToComplete();
    first.finish(false);
    await expect(held).rejects.toBeInstanceOf(HeldBackError);
  });

  it('GIVEN a sink that never says its body was sent THEN the next message starts only when this one leaves', async () => {
    const pipeline = new MessagePipeline(1, new AbortController().signal);
    const first = await admitted(pipeline.admit());
    const next = pipeline.admit();
    expect(await state(next)).toBe('pending');
    first.finish(true);
    expect(await state(next)).toBe('resolved');
  });
});

/**
 * Holding an answer until a test lets it go: the fake Discord's `hold` fault and the test
 * HTTPS server's `hold` route option take `hold`, so the order of events is the test's, not
 * the machine's speed.
 */
import type { FakeDiscord, RecordedRequest } from './fake-discord/types.js';

const MESSAGE_CREATE = 'POST /channels/:id/messages';

/** A promise to hold an answer with, and the function that lets it go (safe to call twice). */
export function heldAnswer(): { hold: Promise<void>; release: () => void } {
  const release: { fn: () => void } = { fn: () => undefined };
  const hold = new Promise<void>((resolve) => (release.fn = resolve));
  return { hold, release: () => release.fn() };
}

/** Polls `ready` every 20 ms until it holds; rejects naming `what` after `timeoutMs` (bounded). */
export async function waitUntil(ready: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Holds at the fake Discord every message create that arrives once `n` parts are posted
 * (messages with attachments), until `release`: what a test does mid-transfer then happens
 * before the transfer can finish, however fast or slow the machine is (a fixed delay per
 * message only makes that likely).
 */
export function holdAfterParts(fake: FakeDiscord, n: number): { release: () => void; posted: () => number } {
  const held = heldAnswer();
  let released = false;
  const posted = () => fake.messages().filter((m) => m.attachments.length > 0).length;
  // Once released it matches nothing: a hold added after it applies (the fake applies the first fault that matches).
  fake.faults.add({ route: (r) => !released && r.route === MESSAGE_CREATE && posted() >= n, kind: 'hold', until: held.hold, times: 100_000 });
  return {
    release: () => {
      released = true;
      held.release();
    },
    posted,
  };
}

/**
 * Holds at the fake Discord, once its whole body arrived, the first message create that comes
 * once `n` more parts are posted (messages with attachments), until `release`: that message
 * will be created (Discord creates a message whose body arrived whole), and `request()` is its
 * record once the fake holds it (its `messageId` once released).
 */
export function holdWholeBodyAfterParts(fake: FakeDiscord, n: number): { release: () => void; request: () => RecordedRequest | undefined } {
  const held = heldAnswer();
  const posted = () => fake.messages().filter((m) => m.attachments.length > 0).length;
  const from = posted() + n;
  const since = Date.now();
  let request: RecordedRequest | undefined;
  fake.faults.add({ route: (r) => r.route === MESSAGE_CREATE && posted() >= from, kind: 'hold', afterBody: true, until: held.hold, times: 1 });
  return {
    release: held.release,
    request: () =>
      (request ??= [...fake.pendingRequests(), ...fake.requests].find(
        (r) => r.route === MESSAGE_CREATE && r.fault === 'hold' && r.bodyAt !== undefined && r.time >= since,
      )),
  };
}

/**
 * The message create the bot streams behind `held` (its body's end held back until `held` is
 * answered), once it is at the fake: the bot cuts it off the moment a cancel or a stop reaches
 * the run (`waitUntilCut`), so a test can release `held` exactly then.
 */
export async function streamingBehind(fake: FakeDiscord, held: RecordedRequest): Promise<RecordedRequest> {
  const follower = () =>
    fake.pendingRequests().find((r) => r.route === MESSAGE_CREATE && r !== held && r.time >= held.time && r.bodyAt === undefined);
  await waitUntil(() => follower() !== undefined, 'the next message create streaming behind the held one');
  return follower()!;
}

/** Waits until the fake no longer has `request` open: the client cut it off (or it was answered). */
export async function waitUntilCut(fake: FakeDiscord, request: RecordedRequest, what: string): Promise<void> {
  await waitUntil(() => !fake.pendingRequests().includes(request), `${what}: the request behind the held one cut off`);
}

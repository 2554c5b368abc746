import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/time/sleep.js';

describe('sleep', () => {
  it('GIVEN the signal aborts THEN the sleep rejects at once', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

/**
 * The bot's one list of closers (src/closers.ts): a failed start and a stop close the same
 * list, newest first, each bounded, a failure logged and collected without skipping the rest.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Closers } from '../src/closers.js';
import { createLogger } from '../src/log.js';

function logger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

describe('closers', () => {
  it('GIVEN closers added in start order, one throwing and one that never settles THEN all run newest first, and both failures are logged and returned by name', async () => {
    const { log, lines } = logger();
    const closers = new Closers(log);
    const order: string[] = [];
    closers.add('store', () => order.push('store'));
    closers.add(
      'hangs',
      () => {
        order.push('hangs');
        return new Promise<never>(() => undefined);
      },
      0,
    );
    closers.add('throws', () => {
      order.push('throws');
      throw new Error('boom');
    });
    closers.add('web', async () => {
      await Promise.resolve();
      order.push('web');
    });
    const failures = await closers.closeAll(5_000);
    expect(order).toEqual(['web', 'throws', 'hangs', 'store']);
    expect(failures.map((f) => f.name)).toEqual(['throws', 'hangs']);
    expect(String(failures[1]!.error)).toMatch(/hangs did not finish within 0 ms/);
    expect(lines.filter((l) => l.msg === 'shutdown step failed').map((l) => l.step)).toEqual(['throws', 'hangs']);
    expect(await closers.closeAll(5_000)).toEqual([]);
    expect(order).toHaveLength(4);
  });
});

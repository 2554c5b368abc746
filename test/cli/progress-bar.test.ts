/** The CLI's progress bar as a terminal shows it: percent, bytes, rate and ETA, and a note (send's parts posted). */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress-bar.js';
import { MIB } from '../support/units.js';

function terminal(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('ProgressBar', () => {
  it('GIVEN a send resumed at 40 MiB of 100 WHEN 10 MiB more went in 2 s THEN shows 50%, 5.0 MiB/s, ETA 10s and the parts posted', () => {
    const out = terminal();
    let now = 1_000_000;
    const bar = new ProgressBar(out.stream, 'send', 100 * MIB, { enabled: true, from: 40 * MIB, now: () => now });
    bar.note('parts 30/100');
    now += 2_000;
    bar.update(50 * MIB);
    const line = out.text();
    expect(line.startsWith('\r')).toBe(true);
    expect(line).toContain(' 50% 50.0 MiB/100 MiB 5.0 MiB/s ETA 10s · parts 30/100');
    bar.update(100 * MIB);
    expect(out.text()).toMatch(/100% 100 MiB\/100 MiB [\d.]+ MiB\/s · parts 30\/100/);
    bar.finish();
    expect(out.text().endsWith('\n')).toBe(true);
  });

  it('GIVEN a slow upload THEN the ETA reads in minutes or hours', () => {
    const out = terminal();
    let now = 0;
    const bar = new ProgressBar(out.stream, 'send', 10_000 * MIB, { enabled: true, now: () => now });
    now += 10_000;
    bar.update(10 * MIB); // 1 MiB/s: 9990 s left
    expect(out.text()).toContain('ETA 2h46m');
  });

  it('GIVEN no terminal THEN draws nothing', () => {
    const out = terminal();
    const bar = new ProgressBar(out.stream, 'send', 10);
    bar.update(5);
    bar.finish();
    expect(out.text()).toBe('');
  });
});

import { describe, expect, it } from 'vitest';
import { cutText, fitMessage, MESSAGE_CONTENT_LIMIT, quoteInput } from '../../src/discord/message-text.js';

describe('message text', () => {
  it('GIVEN text with surrogate pairs at the cut THEN cutText stays within the limit and never splits a pair', () => {
    const cut = cutText('😀'.repeat(10), 6);
    expect(cut).toBe('😀😀…');
    expect(cut.length).toBeLessThanOrEqual(6);
    expect(cutText('short', 6)).toBe('short');
  });

  it('GIVEN input with backticks THEN quoteInput keeps it inside one code span, cut to 100 characters', () => {
    const quoted = quoteInput(`a\`b${'x'.repeat(300)}`);
    expect(quoted.match(/`/g)).toHaveLength(2);
    expect(quoted.length).toBeLessThanOrEqual(102);
  });

  it('GIVEN an over-long message THEN fitMessage cuts long code spans first, then whole lines', () => {
    const quoted = `\`${'p'.repeat(3_000)}\` is outside the files folder.`;
    const fitted = fitMessage(quoted);
    expect(fitted.length).toBeLessThanOrEqual(MESSAGE_CONTENT_LIMIT);
    expect(fitted).toMatch(/…` is outside the files folder\.$/);

    const list = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(80)}`).join('\n');
    const lines = fitMessage(list).split('\n');
    expect(lines.join('\n').length).toBeLessThanOrEqual(MESSAGE_CONTENT_LIMIT);
    expect(lines.at(-1)).toBe('…');
    expect(lines.slice(0, -1).every((l) => /^line \d+ x{80}$/.test(l))).toBe(true);
    expect(fitMessage('fits')).toBe('fits');
  });
});

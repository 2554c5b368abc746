import { describe, expect, it } from 'vitest';
import { formatTable, mibPerSecond, parseVmHWM, quantile, sizeLabel } from '../../bench/stats.js';

describe('bench helpers', () => {
  it('GIVEN rows THEN the table aligns numbers right and text left', () => {
    const table = formatTable(
      ['run', 'MiB/s', 'msgs'],
      [
        ['defaults', 412.345, 43],
        ['P4', 1000, 7],
      ],
    );
    expect(table.split('\n')).toEqual(['run        MiB/s  msgs', '--------  ------  ----', 'defaults  412.35    43', 'P4          1000     7']);
  });

  it('GIVEN samples THEN quantiles are nearest-rank and empty gives NaN', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 1)).toBe(5);
    expect(quantile([5, 1, 3, 2, 4], 0)).toBe(1);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('GIVEN bytes and ms THEN MiB/s; sizes and VmHWM parse', () => {
    expect(mibPerSecond(1024 * 1024 * 100, 500)).toBe(200);
    expect(sizeLabel(1024 ** 3)).toBe('1 GiB');
    expect(sizeLabel(256 * 1024 ** 2)).toBe('256 MiB');
    expect(parseVmHWM('Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n')).toBe(123456 * 1024);
    expect(parseVmHWM('nothing')).toBeNull();
  });
});

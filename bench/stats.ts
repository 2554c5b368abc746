/** Pure helpers of the benchmark: units, ratios, percentiles, the printed table. */

import { MIB } from '../test/support/units.js';

export { MIB };

export function mibPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / MIB / (ms / 1000) : Number.POSITIVE_INFINITY;
}

/** The value at quantile q (0..1) of the samples, nearest rank; NaN for none. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** `1 GiB`, `256 MiB`, `48 MiB`: sizes as the tables name them. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * MIB && bytes % (1024 * MIB) === 0) return `${bytes / (1024 * MIB)} GiB`;
  return `${+(bytes / MIB).toFixed(1)} MiB`;
}

/** Parses VmHWM (peak resident set) out of /proc/<pid>/status text, in bytes. */
export function parseVmHWM(status: string): number | null {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

export type Cell = string | number;

/** A plain-text table: right-aligned numbers, left-aligned text, a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => header.map((_, i) => cellText(row[i])));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === undefined || r[i] === ''));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

function cellText(cell: Cell | undefined): string {
  if (cell === undefined) return '';
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return '-';
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(2);
  }
  return cell;
}

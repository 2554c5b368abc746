/**
 * The names of a transfer's threads (README, 'Lanes'): its own thread is named after the file,
 * lane n of k `<name> · n/k`, each cut between characters (never inside an emoji or a letter
 * with its marks) to what Discord takes.
 */
import type { StoredTransfer } from '../store/types.js';

/** Discord's longest thread name. */
const THREAD_NAME_MAX = 100;

/** A thread's name: the file's, cut to what Discord takes. */
export function threadName(transfer: Pick<StoredTransfer, 'file_name'>): string {
  return ownThreadName(transfer.file_name);
}

/** The transfer's own thread (lane 0): the file's name, cut (never inside a character) to what Discord takes. */
export function ownThreadName(fileName: string): string {
  return fitName(fileName, '');
}

/** Lane `lane`'s thread (from 0): `<name> · 2/4`, the file's name cut (never inside a character) so the whole fits what Discord takes. */
export function laneName(fileName: string, lane: number, lanes: number): string {
  return fitName(fileName, ` · ${lane + 1}/${lanes}`);
}

/**
 * `fileName` cut at a character's end (a grapheme: an emoji, a letter with its marks) so that
 * with `suffix` it fits THREAD_NAME_MAX; a first character longer than that alone (marks piled
 * on marks) is cut between code points, never inside a surrogate pair, so the name is never empty.
 */
function fitName(fileName: string, suffix: string): string {
  const room = THREAD_NAME_MAX - suffix.length;
  let name = '';
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(fileName)) {
    if (name.length + segment.length > room) break;
    name += segment;
  }
  if (name !== '') return name + suffix;
  for (const point of fileName) {
    if (name.length + point.length > room) break;
    name += point;
  }
  return name + suffix;
}

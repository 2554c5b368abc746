/**
 * The progress file's layout and the two serializers that produce it. `serialize` renders a
 * state afresh and is the reference; `serializeCached` makes the same bytes in a buffer kept
 * between writes and renders again only what changed, so that while one transfer runs a
 * write does not re-render every other record (bench/store-write.ts measures the cost).
 */
import type { FileState } from './parse.js';
import type { TransferRecord } from './schema.js';

/**
 * The file's layout: JSON with a one-space indent, except that a transfer's
 * `completed_chunks` and `chunk_attempts` sit on one line each and each part record on a line
 * of its own. A 1,000-part transfer is then ~1,000 lines rather than ~12,000, and the file
 * ~22 % smaller, which is what a durable write costs in proportion to.
 */
const ONE_LINE_FIELDS = new Set(['completed_chunks', 'chunk_attempts']);

const PART_INDENT = '    ';

/**
 * Each part record's line, encoded, indentation included. Parts are frozen and shared between
 * versions of a record, so a running transfer's write renders only its new parts and copies
 * the others' bytes: no string or Buffer the size of the record is made per write.
 */
const partLines = new WeakMap<object, Buffer>();

function partLine(part: object): Buffer {
  let line = partLines.get(part);
  if (line === undefined) {
    line = Buffer.from(PART_INDENT + JSON.stringify(part));
    partLines.set(part, line);
  }
  return line;
}

/** `value` as JSON with a one-space indent, its inner lines pushed right by `indent`. */
function indented(value: unknown, indent: string): string {
  // JSON strings cannot hold a raw newline, so every newline here is indentation.
  return JSON.stringify(value, null, 1).replaceAll('\n', `\n${indent}`);
}

/** An object's fields one per line at `indent` + one space, rendered by `field`. */
function objectText(value: object, indent: string, field: (key: string, value: unknown) => string): string {
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function') continue;
    lines.push(`${indent} ${JSON.stringify(key)}: ${field(key, v)}`);
  }
  return lines.length === 0 ? '{}' : `{\n${lines.join(',\n')}\n${indent}}`;
}

/**
 * One transfer as an item of `active_transfers` (two spaces in), around its part lines:
 * `head` ends where the first part line goes and `tail` starts after the last; a transfer
 * without parts is all `head`.
 */
function recordFrame(record: TransferRecord): { head: string; tail?: string; parts: readonly object[] } {
  const at = '  ';
  let head: string | undefined;
  let parts: readonly object[] = [];
  let text = '{\n';
  let first = true;
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || typeof value === 'function') continue;
    text += `${first ? '' : ',\n'}${at} ${JSON.stringify(key)}: `;
    first = false;
    if (key === 'parts' && Array.isArray(value) && value.length > 0) {
      head = `${text}[\n`;
      parts = value as object[];
      text = `\n${at} ]`;
    } else if (ONE_LINE_FIELDS.has(key)) {
      text += JSON.stringify(value);
    } else {
      text += indented(value, `${at} `);
    }
  }
  const end = first ? '{}' : `${text}\n${at}}`;
  return head === undefined ? { head: end, parts } : { head, tail: end, parts };
}

/** The record's text, rendered afresh (serialize, the reference the cached writer must match). */
function recordText(record: TransferRecord): string {
  const { head, tail, parts } = recordFrame(record);
  return head + parts.map((part) => PART_INDENT + JSON.stringify(part)).join(',\n') + (tail ?? '');
}

interface RecordWriter {
  length: number; // bytes
  /** Writes the record's bytes at `at`; returns the offset after them. */
  write(buffer: Buffer, at: number): number;
}

/**
 * Writes a record from its own Buffer when it has one, else straight from its frame and
 * cached part lines, with no array of pieces: for the running transfer this happens on every
 * write, and a piece list as long as its part count was garbage that outlived the young
 * generation. A record seen unchanged since the last write gets its Buffer now (see
 * recordBytes).
 */
function recordWriter(record: TransferRecord): RecordWriter {
  let bytes = recordBytes.get(record);
  if (bytes === undefined) {
    const fresh = frameWriter(record);
    if (!writtenOnce.has(record)) {
      writtenOnce.add(record);
      return fresh;
    }
    bytes = Buffer.allocUnsafe(fresh.length);
    fresh.write(bytes, 0);
    recordBytes.set(record, bytes);
  }
  const own = bytes;
  return { length: own.length, write: (buffer, at) => at + own.copy(buffer, at) };
}

function frameWriter(record: TransferRecord): RecordWriter {
  const { head, tail, parts } = recordFrame(record);
  let length = Buffer.byteLength(head) + (tail === undefined ? 0 : Buffer.byteLength(tail));
  for (let i = 0; i < parts.length; i++) length += partLine(parts[i]!).length + (i > 0 ? SEPARATOR.length : 0);
  return {
    length,
    write(buffer, at) {
      let offset = at + buffer.write(head, at);
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) offset += SEPARATOR.copy(buffer, offset);
        offset += partLine(parts[i]!).copy(buffer, offset);
      }
      if (tail !== undefined) offset += buffer.write(tail, offset);
      return offset;
    },
  };
}

const SEPARATOR = Buffer.from(',\n');

/** The file around the records: unknown top-level fields keep their place and order. */
function fileText(state: FileState, records: (record: TransferRecord) => string): string[] {
  const pieces: string[] = [];
  const body = objectText(state.top, '', (key, value) => {
    if (key !== 'active_transfers') return indented(value, ' ');
    if (state.records.size === 0) return '[]';
    // Records are spliced in below, so the top level is rendered once, without them.
    return '\u0000';
  });
  const [before, after] = body.split('"active_transfers": \u0000');
  if (after === undefined) {
    pieces.push(body);
  } else {
    pieces.push(`${before}"active_transfers": [\n`);
    let first = true;
    for (const record of state.records.values()) {
      pieces.push(`${first ? '' : ',\n'}  ${records(record)}`);
      first = false;
    }
    pieces.push(`\n ]${after}`);
  }
  pieces.push('\n');
  return pieces;
}

export function serialize(state: FileState): string {
  return fileText(state, recordText).join('');
}

/**
 * The encoded text of records that were unchanged between two writes. Records are immutable
 * (apply.ts), so a record object's text never goes stale. A record is first written from its
 * frame and part lines; only when a later write finds it unchanged does it get a Buffer of
 * its own, so idle transfers cost one copy per write. A running transfer, which changes on every write,
 * never gets one: a Buffer per version of it was a native allocation a little larger each
 * time, which fragmented the C heap (RSS grew with the part count).
 */
const recordBytes = new WeakMap<TransferRecord, Buffer>();
const writtenOnce = new WeakSet<TransferRecord>();

/** The file's bytes as `out.buffer` holds them after a write: what the next write can patch. */
interface FileImage {
  /** The text around the records: `strings[k]` comes before record k, the last one after all. */
  strings: string[];
  records: TransferRecord[];
  starts: number[]; // byte offset of each record in the buffer
  lengths: number[]; // bytes
  length: number; // bytes in the whole file
}

/** What `serializeCached` keeps between writes. */
export interface SerializeBuffer {
  buffer: Buffer;
  image?: FileImage | undefined;
}

/** `buffer` with room for `length` bytes, its first `keep` bytes kept. */
function withRoom(buffer: Buffer, length: number, keep: number): Buffer {
  if (buffer.length >= length) return buffer;
  const grown = Buffer.allocUnsafeSlow(Math.ceil(length * 1.25));
  buffer.copy(grown, 0, 0, keep);
  return grown;
}

/**
 * The same bytes as `serialize(state)`, built in `out.buffer` (grown when too small), which
 * keeps the previous write's bytes. When only one record changed since then (a running
 * transfer), only that record is rendered into place and the records after it are moved
 * by the difference in length; otherwise every record is copied from its cached text.
 * Reusing one buffer spares the garbage collector and the C heap a file-sized allocation
 * per write; writes are serialized, so it is never in use twice.
 */
export function serializeCached(state: FileState, out: SerializeBuffer): Buffer {
  const records = [...state.records.values()];
  // The text around the records, each record standing as one \u0001 (JSON text never holds
  // a raw control character).
  const strings = fileText(state, () => '\u0001')
    .join('')
    .split('\u0001');
  const image = out.image;
  if (image !== undefined && image.records.length === records.length && image.strings.every((text, k) => text === strings[k])) {
    const changed = records.flatMap((record, k) => (record === image.records[k] ? [] : [k]));
    if (changed.length === 0) return out.buffer.subarray(0, image.length);
    if (changed.length === 1) {
      const k = changed[0]!;
      const writer = recordWriter(records[k]!);
      const length = writer.length;
      const delta = length - image.lengths[k]!;
      const oldEnd = image.starts[k]! + image.lengths[k]!;
      out.buffer = withRoom(out.buffer, image.length + delta, image.length);
      if (delta !== 0) out.buffer.copyWithin(oldEnd + delta, oldEnd, image.length);
      writer.write(out.buffer, image.starts[k]!);
      image.records[k] = records[k]!;
      image.lengths[k] = length;
      for (let j = k + 1; j < records.length; j++) image.starts[j]! += delta;
      image.length += delta;
      return out.buffer.subarray(0, image.length);
    }
  }
  const writers = records.map(recordWriter);
  const lengths = writers.map((writer) => writer.length);
  const total = strings.reduce((sum, text) => sum + Buffer.byteLength(text), 0) + lengths.reduce((sum, n) => sum + n, 0);
  out.buffer = withRoom(out.buffer, total, 0);
  const starts: number[] = [];
  let offset = out.buffer.write(strings[0]!, 0);
  writers.forEach((writer, k) => {
    starts.push(offset);
    offset = writer.write(out.buffer, offset);
    offset += out.buffer.write(strings[k + 1]!, offset);
  });
  out.image = { strings, records, starts, lengths, length: total };
  return out.buffer.subarray(0, total);
}

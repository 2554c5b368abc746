/** Pure planning: part sizes, counts and names (README, 'Commands' and 'Configuration'). */
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const MIB = 1024 * 1024;
/** Discord caps one message-create request at 25 MiB of body. */
const MAX_REQUEST_BYTES = 25 * MIB;
/** What Discord allows per attachment when an interaction reports no limit. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * MIB;

export interface PartSlice {
  index: number; // 0-based
  offset: number; // bytes
  size: number; // bytes
}

export function totalChunks(fileSize: number, chunkSize: number): number {
  assertPositiveInt(chunkSize, 'chunk size');
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`file size must be a whole number ≥ 0, got ${fileSize}`);
  return Math.ceil(fileSize / chunkSize);
}

export function partSlice(index: number, fileSize: number, chunkSize: number): PartSlice {
  const offset = index * chunkSize;
  if (index < 0 || offset >= fileSize) throw new RangeError(`part ${index} is outside a file of ${fileSize} bytes`);
  return { index, offset, size: Math.min(chunkSize, fileSize - offset) };
}

export function planSlices(fileSize: number, chunkSize: number): PartSlice[] {
  const count = totalChunks(fileSize, chunkSize);
  return Array.from({ length: count }, (_, i) => partSlice(i, fileSize, chunkSize));
}

/** The attachment limit to plan with: the one the interaction reports, else DEFAULT_ATTACHMENT_LIMIT. */
export function attachmentLimit(reported: number | null | undefined): number {
  return reported && reported > 0 ? reported : DEFAULT_ATTACHMENT_LIMIT;
}

/**
 * The part size for a transfer: the requested one (refused above the limit), else the
 * configured default lowered to the limit the interaction reports.
 */
export function chooseChunkSize(opts: { requested?: number | undefined; defaultSize: number; limit?: number | null | undefined }): number {
  const limit = attachmentLimit(opts.limit);
  if (opts.requested !== undefined) {
    if (!Number.isSafeInteger(opts.requested) || opts.requested <= 0) {
      throw new RangeError(`chunk size must be a positive whole number of bytes; the limit here is ${limit} bytes`);
    }
    if (opts.requested > limit) {
      throw new RangeError(`chunk size ${opts.requested} bytes is above this channel's attachment limit of ${limit} bytes (${formatMiB(limit)})`);
    }
    return opts.requested;
  }
  return Math.min(opts.defaultSize, limit);
}

const UNSAFE_NAME_CHARS = /[^A-Za-z0-9._-]/g;
/** Longest `<name>`: a part's name adds `.part` and its number, and the manifest `.manifest.json`. */
const MAX_NAME_LENGTH = 200;

/**
 * The parts' `<name>` (README, 'Commands'): a safe base name, never empty. When nothing of the stem
 * survives (`отчёт.pdf` would become `pdf`), the transfer id stands in for it, so such files
 * do not all share one name.
 */
export function sanitizeName(sourceName: string, transferId: string): string {
  const base = path.basename(sourceName.replaceAll('\\', '/'));
  const cleaned = cleanName(base);
  if (cleaned.length === 0) return 'file';
  const ext = path.extname(base);
  const named = ext !== '' && cleanName(base.slice(0, -ext.length)) === '' ? `${transferId}${ext.replace(UNSAFE_NAME_CHARS, '_')}` : cleaned;
  return shorten(named);
}

/** A name past MAX_NAME_LENGTH loses the end of its stem; a short extension is kept. */
function shorten(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const ext = path.extname(name);
  const keep = ext.length <= 16 ? ext : '';
  return name.slice(0, MAX_NAME_LENGTH - keep.length) + keep;
}

function cleanName(name: string): string {
  return name.replace(UNSAFE_NAME_CHARS, '_').replace(/^[._]+/, '');
}

/** Zero-padded to at least 3 digits and to the width of the part count. */
function partNumberWidth(total: number): number {
  return Math.max(3, String(Math.max(total, 1)).length);
}

export function partName(name: string, index: number, total: number): string {
  return `${name}.part${String(index + 1).padStart(partNumberWidth(total), '0')}`;
}

/** Whether `entry` is a part of `name` (`<name>.part<digits>`, any width). */
export function isPartName(name: string, entry: string): boolean {
  return entry.startsWith(`${name}.part`) && /^\d+$/.test(entry.slice(name.length + 5));
}

export function manifestName(name: string): string {
  return `${name}.manifest.json`;
}

export function newTransferId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(10);
  return `upload_${Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')}`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes % MIB === 0 ? 0 : 2)} MiB`;
}

function assertPositiveInt(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive whole number, got ${n}`);
}

/**
 * Groups consecutive part indices into messages: at most `maxParts` parts and
 * `maxBytes` of attachments each; a single part above `maxBytes` travels alone.
 */
export function packBatches<T extends { size: number }>(parts: T[], maxParts: number, maxBytes = MAX_REQUEST_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const part of parts) {
    if (current.length > 0 && (current.length >= maxParts || bytes + part.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(part);
    bytes += part.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

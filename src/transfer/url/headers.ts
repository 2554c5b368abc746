/**
 * What a URL's response headers say about the file: its name, its size, the validators a
 * resume checks it against (ETag, Last-Modified) and whether Range requests are served.
 * Pure parsers, shared by `/upload` (which records them) and the part source (which checks
 * a resumed download against them).
 */
import type { IncomingMessage } from 'node:http';
import { decodeExtended, parse } from 'content-disposition';

export interface UrlInfo {
  /** From Content-Disposition, else the path's base name, else `download` (not yet sanitized). */
  name: string;
  /** Content-Length of a 200, or the total of a 206's Content-Range; null when not given. */
  size: number | null;
  etag: string | null;
  lastModified: string | null;
  acceptsRanges: boolean;
}

export function urlInfo(response: IncomingMessage, url: URL): UrlInfo {
  const h = response.headers;
  return {
    name: nameFromDisposition(header(h['content-disposition'])) ?? nameFromPath(url) ?? 'download',
    size: response.statusCode === 206 ? (parseContentRange(header(h['content-range']))?.total ?? null) : parseLength(header(h['content-length'])),
    etag: header(h.etag) ?? null,
    lastModified: header(h['last-modified']) ?? null,
    acceptsRanges: /(^|,)\s*bytes\s*(,|$)/i.test(header(h['accept-ranges']) ?? ''),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function parseLength(value: string | undefined): number | null {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** `bytes 100-199/1000` → {start: 100, end: 199, total: 1000}; total null for `*`. */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | null {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!match) return null;
  const total = match[3] === '*' ? null : Number(match[3]);
  return { start: Number(match[1]), end: Number(match[2]), total };
}

/**
 * RFC 6266: `filename*` (RFC 8187: UTF-8 or ISO-8859-1, percent-encoded) wins over `filename`;
 * a blank or undecodable one falls back to it, and a header the parser refuses to no name.
 */
export function nameFromDisposition(value: string | undefined): string | null {
  if (!value) return null;
  const parameters = dispositionParameters(value);
  const raw = parameters?.['filename*'];
  // Decoded here rather than by the parser, so that a blank `filename*` still falls back.
  const extended = raw === undefined ? undefined : decodeExtended(raw.trim());
  if (extended?.trim()) return extended;
  const plain = parameters?.['filename'];
  return plain ? plain : null;
}

function dispositionParameters(value: string): Record<string, string> | null {
  try {
    const parsed = parse(value, { extended: false });
    // No disposition type (`filename="a.bin"` alone): some servers send that; read it as an attachment.
    return parsed.type.includes('=') ? parse(`attachment; ${value}`, { extended: false }).parameters : parsed.parameters;
  } catch {
    return null;
  }
}

function nameFromPath(url: URL): string | null {
  const last = url.pathname.split('/').filter(Boolean).at(-1);
  if (!last) return null;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

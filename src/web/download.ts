/**
 * `GET|HEAD /d/<token>/<name>` (README, 'Download links'): the file rebuilt from its posted parts,
 * fetched through fresh attachment links. No byte of a part is sent before the whole part
 * matched its sha256 (it waits in a temp file: src/discord/staged-part.ts), while the next
 * part downloads as this one is sent. A part that does not match, is gone, or cannot be
 * fetched after the retries aborts the response short of its Content-Length: a client gets
 * checked bytes only, and a clean end only with the whole file, a resumed one (Range,
 * If-Range) included. One byte range (`a-b`, `a-`, `-n`) is honoured, with If-Range.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DownloadError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { PartRecord } from '../store/schema.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { ManifestChunk } from '../transfer/manifest.js';
import { sendHtml } from './http.js';
import { messagePage } from './pages.js';
import { contentDisposition, type ShareClaims, type ShareLinks } from './share-links.js';
import type { TokenRefusal } from './signed-token.js';

/** A part downloaded whole and checked, to read back (`end` exclusive) and then close. */
interface CheckedPart {
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** What streaming needs of Discord: a part, checked, and its message fetched ahead (src/discord/download.ts). */
export interface PartFetcher {
  checkedPart(channelId: string, chunk: ManifestChunk): Promise<CheckedPart>;
  prefetch(channelId: string, chunk: Pick<ManifestChunk, 'name' | 'message_id' | 'channel_id'>): Promise<void>;
}

export interface DownloadDeps {
  store: ProgressStore;
  links: ShareLinks;
  log: Logger;
  /** A fetcher whose requests and retries end when `signal` does (the client went away). */
  openFetcher: (signal: AbortSignal) => PartFetcher;
  /** WEB_MAX_DOWNLOADS */
  maxDownloads: number;
  /** A client that reads nothing for this long is cut off (default 60 s; tests shorten it). */
  clientStallMs?: number;
}

const REFUSALS = {
  forged: [404, 'Not a download link', 'This link is not one the bot made, or it was revoked. Ask for a new one.'],
  expired: [410, 'Link expired', 'This download link has expired. Ask whoever shared it for a new one (/share in Discord).'],
  gone: [410, 'No longer available', 'This file is no longer kept by the bot (its record was removed).'],
  revoked: [404, 'Not a download link', 'This link was revoked. Ask for a new one.'],
} as const satisfies Record<string, readonly [number, string, string]>;

/** Why a link does not open its file: forged or malformed (404), expired (410), its transfer no longer kept (410), revoked (404); null when it does. */
function refusalOf(claims: ShareClaims | TokenRefusal, transfer: StoredTransfer | undefined): (typeof REFUSALS)[keyof typeof REFUSALS] | null {
  if (claims === 'expired') return REFUSALS.expired;
  if (typeof claims === 'string') return REFUSALS.forged;
  if (!transfer || transfer.status !== 'complete' || !transfer.file_sha256) return REFUSALS.gone;
  if (transfer.share_generation !== claims.g) return REFUSALS.revoked;
  return null;
}

/** A client that reads nothing for this long is cut off, unless DownloadDeps says otherwise. */
const CLIENT_STALL_MS = 60_000; // ms

/** A wait before a client tries again after a 503. */
const RETRY_AFTER_S = 30;

/** Which bytes to send: the whole file (200) or one range (206); null when the range cannot be met (416). */
function byteRange(header: string | undefined, size: number): { start: number; end: number; partial: boolean } | null {
  const whole = { start: 0, end: size - 1, partial: false };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  // No Range, another unit, several ranges or a malformed one: the whole file.
  if (!match || (match[1] === '' && match[2] === '')) return whole;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1, partial: true };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return whole;
  if (start >= size) return null;
  return { start, end, partial: true };
}

export class Downloads {
  #active = 0;

  constructor(private readonly deps: DownloadDeps) {}

  async serve(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
    const { store, links } = this.deps;
    const claims = links.read(token);
    const transfer = typeof claims === 'string' ? undefined : store.get(claims.t);
    const refusal = refusalOf(claims, transfer);
    if (refusal || !transfer) {
      const [status, title, message] = refusal ?? REFUSALS.gone;
      sendHtml(res, status, messagePage(title, message));
      return;
    }
    const size = transfer.file_size ?? 0;
    const etag = `"${transfer.file_sha256}"`;
    const ifRange = req.headers['if-range'];
    const range = ifRange !== undefined && ifRange !== etag ? byteRange(undefined, size) : byteRange(req.headers.range, size);
    if (range === null) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(range.end - range.start + 1),
      'Content-Disposition': contentDisposition(downloadName(transfer)),
      ETag: etag,
      'Accept-Ranges': 'bytes',
      ...(range.partial ? { 'Content-Range': `bytes ${range.start}-${range.end}/${size}` } : {}),
    };
    if (req.method === 'HEAD') {
      res.writeHead(range.partial ? 206 : 200, headers);
      res.end();
      return;
    }
    if (this.#active >= this.deps.maxDownloads) {
      res.writeHead(503, { 'Retry-After': String(RETRY_AFTER_S), 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${this.deps.maxDownloads} downloads are running; try again in ${RETRY_AFTER_S} s\n`);
      return;
    }
    this.#active++;
    const client = new AbortController();
    res.once('close', () => client.abort(new DownloadError('the client went away', false)));
    try {
      await this.#stream(res, transfer, range, headers, client.signal);
    } finally {
      this.#active--;
    }
  }

  async #stream(
    res: ServerResponse,
    transfer: StoredTransfer,
    range: { start: number; end: number; partial: boolean },
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<void> {
    const { log } = this.deps;
    const parts = [...transfer.parts].sort((a, b) => a.index - b.index).filter((p) => p.offset <= range.end && p.offset + p.size > range.start);
    const fetcher = this.deps.openFetcher(signal);
    const started = Date.now();
    // The first part's message before answering: a transfer whose parts were deleted is a 410, not a broken download.
    try {
      await fetcher.prefetch(transfer.channel_id, parts[0]!);
    } catch (error) {
      const gone = error instanceof DownloadError && !error.retryable;
      log.warn({ event: 'download_failed', transfer_id: transfer.id, part: parts[0]?.name, reason: messageOf(error) }, 'download_failed');
      sendHtml(
        res,
        gone ? 410 : 502,
        gone
          ? messagePage('No longer available', 'The parts of this file were deleted from Discord.')
          : messagePage('Not available now', 'Discord did not answer; try again later.'),
      );
      return;
    }
    res.writeHead(range.partial ? 206 : 200, headers);
    const out = new HeldBackWriter(res, this.deps.clientStallMs ?? CLIENT_STALL_MS);
    // While one part is sent, the next downloads and is checked: the pipe never waits for a whole part.
    let pending: Promise<CheckedPart> | undefined = fetcher.checkedPart(transfer.channel_id, parts[0]!);
    let current: PartRecord | undefined;
    try {
      for (const [i, part] of parts.entries()) {
        current = part;
        const checked = await pending!;
        const next = parts[i + 1];
        pending = next ? fetcher.checkedPart(transfer.channel_id, next) : undefined;
        // A failure there is met when its turn comes; until then it must not count as unhandled.
        pending?.catch(() => undefined);
        try {
          const from = Math.max(range.start, part.offset) - part.offset;
          const to = Math.min(range.end + 1, part.offset + part.size) - part.offset;
          for await (const data of checked.read(from, to)) await out.write(data);
        } finally {
          await checked.close();
        }
      }
      out.end();
      log.info(
        { event: 'download_complete', transfer_id: transfer.id, bytes: range.end - range.start + 1, duration_ms: Date.now() - started },
        'download_complete',
      );
    } catch (error) {
      if (!signal.aborted) {
        log.warn({ event: 'download_failed', transfer_id: transfer.id, part: current?.name, reason: messageOf(error) }, 'download_failed');
      }
      // Short of its Content-Length: the client sees a broken download.
      res.destroy();
      // The part fetched ahead has a temp file open: close it once it settles.
      void pending?.then((checked) => checked.close()).catch(() => undefined);
    }
  }
}

/** The name a download is offered under: the source's own base name, else the sanitised one. */
export function downloadName(transfer: StoredTransfer): string {
  const original = transfer.original_name?.split('/').pop();
  if (!original || original.trim() === '') return transfer.file_name;
  // What is served is the age file, as it was posted: it keeps the name that says so.
  return transfer.encryption ? `${original}.age` : original;
}

/**
 * Writes with backpressure, keeping the latest piece back until `end()`: the response's last
 * byte goes out in the same step as its slot is freed, so a client that asks again at once
 * finds the slot free. (Every byte written is already checked.)
 */
class HeldBackWriter {
  #held: Uint8Array | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly stallMs: number,
  ) {}

  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    const previous = this.#held;
    this.#held = data;
    if (previous) await this.#send(previous);
  }

  end(): void {
    if (this.#held) this.res.write(this.#held);
    this.#held = null;
    this.res.end();
  }

  async #send(chunk: Uint8Array): Promise<void> {
    // Cut off or gone: 'drain' and 'close' will not come again, so waiting for them would hold the slot for good.
    this.#checkOpen();
    if (this.res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      // A client that stops reading would hold one of the WEB_MAX_DOWNLOADS slots for good.
      const timer = setTimeout(() => {
        this.res.destroy();
        done();
      }, this.stallMs);
      this.res.once('drain', done);
      this.res.once('close', done);
    });
    this.#checkOpen();
  }

  #checkOpen(): void {
    if (this.res.destroyed) throw new DownloadError('the client went away', false);
  }
}

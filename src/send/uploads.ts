/**
 * The uploads of files sent from members' computers, as the bot holds them: each one's
 * staging folder (staging.ts), STAGING_MAX_BYTES shared between them, the hooks a run of such
 * a transfer gets (its source, and saving hash checkpoints so staged bytes can go), the
 * "waiting for the sender" state, and the end of an upload idle for SEND_EXPIRY_HOURS.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { ACTIVE_STATUSES } from '../store/state.js';
import type { TransferRecord } from '../store/schema.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { PartSource } from '../transfer/chunker.js';
import { confirmedPrefixEnd } from '../transfer/resume/url-checkpoints.js';
import { formatMiB } from '../transfer/plan.js';
import { AGE_CHUNK } from '../crypto/age.js';
import { plainStartFor, SendPartSource, sendResumePoint } from './source.js';
import { UploadStaging } from './staging.js';

export interface SendLimits {
  /** STAGING_DIR */
  dir: string;
  /** STAGING_PER_UPLOAD_BYTES */
  perUploadBytes: number;
  /** STAGING_MAX_BYTES */
  maxBytes: number;
  /** SEND_EXPIRY_HOURS, in ms. */
  expiryMs: number;
}

/** What a run of a transfer adds to the orchestrator (as resume/url-checkpoints.ts does for URLs). */
export interface RunHooks {
  openSource: (transfer: StoredTransfer, signal: AbortSignal) => PartSource;
  onProgress: (transfer: StoredTransfer) => void;
  flush: () => Promise<void>;
}

/** How often idle uploads are looked for. */
const EXPIRY_SWEEP_MS = 60_000;
/**
 * How long a run waits for the sender's bytes before it shows as "waiting for the sender":
 * a sender slower than Discord keeps the run waiting between every fsync, which is no news.
 */
const WAITING_SHOWN_AFTER_MS = 2_000;

export class SendUploads {
  readonly limits: SendLimits;
  readonly #store: ProgressStore;
  readonly #log: Logger;
  readonly #open = new Map<string, Promise<UploadStaging>>();
  /** Bytes of STAGING_MAX_BYTES each upload holds. */
  readonly #shares = new Map<string, number>();
  /** Staging folders once open, for what /status says was received. */
  readonly #opened = new Map<string, UploadStaging>();
  /** Runs shown as waiting for the sender, and those waiting but not shown yet. */
  readonly #waiting = new Set<string>();
  readonly #waitTimers = new Map<string, NodeJS.Timeout>();
  readonly #waitingShownAfterMs: number;
  #sweeper: NodeJS.Timeout | null = null;

  /** The staging of uploads (STAGING_DIR) as the bot starts it: folders of uploads that ended while it was down are removed. */
  static async start(
    config: Pick<Config, 'STAGING_DIR' | 'STAGING_PER_UPLOAD_BYTES' | 'STAGING_MAX_BYTES' | 'SEND_EXPIRY_HOURS'>,
    deps: { store: ProgressStore; log: Logger },
  ): Promise<SendUploads> {
    const uploads = new SendUploads(
      {
        dir: config.STAGING_DIR,
        perUploadBytes: config.STAGING_PER_UPLOAD_BYTES,
        maxBytes: config.STAGING_MAX_BYTES,
        expiryMs: config.SEND_EXPIRY_HOURS * 3_600_000,
      },
      deps,
    );
    await uploads.sweepFolders();
    return uploads;
  }

  constructor(limits: SendLimits, deps: { store: ProgressStore; log: Logger; waitingShownAfterMs?: number }) {
    this.limits = limits;
    this.#waitingShownAfterMs = deps.waitingShownAfterMs ?? WAITING_SHOWN_AFTER_MS;
    this.#store = deps.store;
    this.#log = deps.log;
    for (const t of deps.store.summaries()) {
      const full = deps.store.get(t.id);
      if (full && full.source.kind === 'send' && holdsStaging(full)) this.#shares.set(t.id, this.#shareOf(full.source.size, full.chunk_size_bytes));
    }
  }

  /** What one upload holds of STAGING_MAX_BYTES: what may wait, plus the part being filled. */
  #shareOf(size: number, chunkSize: number): number {
    return Math.min(size, this.limits.perUploadBytes + chunkSize);
  }

  /** Claims a new upload's share of STAGING_MAX_BYTES under `id`, or says why there is no room. */
  claim(id: string, size: number, chunkSize: number): void {
    const share = this.#shareOf(size, chunkSize);
    let used = 0;
    for (const [other, bytes] of this.#shares) if (other !== id) used += bytes;
    if (used + share > this.limits.maxBytes) {
      throw new UserError(
        `The bot has no staging room for another upload right now (${formatMiB(used)} of ${formatMiB(this.limits.maxBytes)} are held by uploads in progress); try again when one has finished.`,
      );
    }
    this.#shares.set(id, share);
  }

  /** Gives back a claim that was never recorded. */
  unclaim(id: string): void {
    this.#shares.delete(id);
  }

  /** The staging folder of a send transfer, opened once. */
  staging(transfer: StoredTransfer): Promise<UploadStaging> {
    let opened = this.#open.get(transfer.id);
    if (!opened) {
      if (transfer.source.kind !== 'send') throw new Error(`transfer ${transfer.id} is not a send`);
      const checkpoint = sendResumePoint(transfer);
      opened = UploadStaging.open(path.join(this.limits.dir, transfer.id), {
        size: transfer.source.size,
        segmentBytes: transfer.chunk_size_bytes,
        // At least one whole part (and the age chunk a restart keeps) may wait, else no part could ever be cut.
        perUploadBytes: Math.max(this.limits.perUploadBytes, transfer.chunk_size_bytes + (transfer.encryption ? AGE_CHUNK : 0)),
        releasedUpTo: checkpoint ? plainStartFor(transfer, checkpoint.offset).plain : 0,
      });
      this.#open.set(transfer.id, opened);
      const id = transfer.id;
      opened.then(
        (s) => {
          if (this.#open.get(id) === opened) this.#opened.set(id, s);
        },
        () => this.#open.delete(id),
      );
    }
    return opened;
  }

  /**
   * The most parts one message of a send may hold: what its staging lets wait (less the age
   * chunk a restart keeps before its checkpoint), else the message waits for bytes that wait for it.
   */
  partsPerMessage(transfer: StoredTransfer, configured: number): number {
    const room = this.limits.perUploadBytes - (transfer.encryption ? AGE_CHUNK : 0);
    return Math.max(1, Math.min(configured, Math.floor(room / transfer.chunk_size_bytes)));
  }

  /** Whether the run of `id` has waited for the sender's next bytes for a while (WAITING_SHOWN_AFTER_MS). */
  isWaiting(id: string): boolean {
    return this.#waiting.has(id);
  }

  /** Bytes of the sender's file received and fsynced (the tus offset), when its staging folder is open; else null. */
  receivedBytes(id: string): number | null {
    return this.#opened.get(id)?.offset ?? null;
  }

  /** The source's news that it waits (or no longer does); `onChange` hears when what is shown changes. */
  #setWaiting(id: string, waiting: boolean, onChange: (waiting: boolean) => void): void {
    if (waiting) {
      if (this.#waiting.has(id) || this.#waitTimers.has(id)) return;
      const timer = setTimeout(() => {
        this.#waitTimers.delete(id);
        this.#waiting.add(id);
        onChange(true);
      }, this.#waitingShownAfterMs);
      timer.unref();
      this.#waitTimers.set(id, timer);
      return;
    }
    this.#stopWaiting(id, onChange);
  }

  #stopWaiting(id: string, onChange: (waiting: boolean) => void = () => {}): void {
    clearTimeout(this.#waitTimers.get(id));
    this.#waitTimers.delete(id);
    if (this.#waiting.delete(id)) onChange(false);
  }

  /** The hooks for one run of a send transfer; `onWaiting` hears when it starts or stops showing as waiting for the sender. */
  runHooks(onWaiting: (waiting: boolean) => void = () => {}): RunHooks {
    let current: SendPartSource | null = null;
    let staging: UploadStaging | null = null;
    let saved = 0;
    let writes: Promise<void> = Promise.resolve();
    return {
      openSource: (transfer, signal) => {
        saved = transfer.source.kind === 'send' ? (transfer.source.hash_checkpoint?.offset ?? 0) : 0;
        const opening = this.staging(transfer).then((s) => (staging = s));
        const id = transfer.id;
        current = new SendPartSource(transfer, opening, signal, (waiting) => this.#setWaiting(id, waiting, onWaiting));
        return current;
      },
      onProgress: (transfer) => {
        if (!current) return;
        const end = confirmedPrefixEnd(transfer);
        if (end <= saved) return;
        const checkpoint = current.checkpointAt(end);
        if (!checkpoint) return;
        saved = end;
        const keep = plainStartFor(transfer, end).plain;
        // The staged bytes go only once the checkpoint after them is on disk: a restart starts there.
        writes = writes.then(() =>
          this.#store
            .update(transfer.id, (d: TransferRecord) => {
              if (d.source.kind === 'send') d.source.hash_checkpoint = { ...checkpoint };
            })
            .then(
              () => staging?.release(keep),
              (err: unknown) => this.#log.warn({ err, transfer_id: transfer.id }, 'could not save a hash checkpoint'),
            ),
        );
      },
      flush: () => writes,
    };
  }

  /** A send transfer has ended: complete or cancelled, its staged bytes and share go. Others keep them for a /resume. */
  async ended(transfer: StoredTransfer): Promise<void> {
    if (transfer.source.kind !== 'send') return;
    this.#stopWaiting(transfer.id);
    if (transfer.status !== 'complete' && transfer.status !== 'cancelled') return;
    this.#shares.delete(transfer.id);
    const opened = this.#open.get(transfer.id);
    this.#open.delete(transfer.id);
    this.#opened.delete(transfer.id);
    if (opened) await (await opened.catch(() => null))?.remove();
    await rm(path.join(this.limits.dir, transfer.id), { recursive: true, force: true });
  }

  /** Start-up: folders of transfers that are gone or have ended are removed. */
  async sweepFolders(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.limits.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const t = this.#store.get(name);
      if (t && t.source.kind === 'send' && holdsStaging(t)) continue;
      if (!/^upload_[a-z0-9]{6,12}$/.test(name)) continue;
      await rm(path.join(this.limits.dir, name), { recursive: true, force: true });
    }
  }

  /**
   * At once and every minute, uploads that received nothing for SEND_EXPIRY_HOURS are handed to `expire`
   * (which cancels them, with a note).
   */
  startExpiry(expire: (id: string, idleMs: number) => Promise<void>, now: () => number = Date.now, everyMs = EXPIRY_SWEEP_MS): void {
    // Once at start too: an upload that went idle while the bot was down ends now, not a sweep later.
    void this.expireIdle(expire, now);
    this.#sweeper = setInterval(() => void this.expireIdle(expire, now), everyMs);
    this.#sweeper.unref();
  }

  /** One look for idle uploads (startExpiry runs it every minute). */
  async expireIdle(expire: (id: string, idleMs: number) => Promise<void>, now: () => number = Date.now): Promise<string[]> {
    const expired: string[] = [];
    for (const summary of this.#store.summaries()) {
      const t = this.#store.get(summary.id);
      if (!t || t.source.kind !== 'send' || !holdsStaging(t)) continue;
      const staging = await this.staging(t).catch(() => null);
      // A whole file waiting only for Discord is not idle; one a failure stopped keeps its bytes only so long.
      if (!staging || (staging.offset >= staging.size && t.status !== 'error')) continue;
      const idle = now() - staging.lastReceivedAt;
      if (idle < this.limits.expiryMs) continue;
      expired.push(t.id);
      await expire(t.id, idle).catch((err: unknown) => this.#log.warn({ err, transfer_id: t.id }, 'could not end an idle upload'));
    }
    return expired;
  }

  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const timer of this.#waitTimers.values()) clearTimeout(timer);
  }
}

/** A send's staged bytes are kept while it may go on: unfinished, or ended in `error` (for a /resume). */
function holdsStaging(t: StoredTransfer): boolean {
  return ACTIVE_STATUSES.includes(t.status) || t.status === 'error';
}

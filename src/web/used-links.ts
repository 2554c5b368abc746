/**
 * The sign-in links already used, kept on disk so that "usable once" holds across a restart
 * with a fixed WEB_SECRET: `transfer_progress.used-links.json` beside the progress file (one
 * per shard, as each shard has its own progress file), written with the durable write. An
 * entry is kept only until its link would have expired anyway (WEB_LINK_TTL_MINUTES).
 *
 * A link is claimed in one synchronous step (checked and reserved before the write is
 * awaited), so two redemptions at the same instant let exactly one in. A claim counts only
 * once the record is durable: when the disk refuses the write, the claim is released and the
 * sign-in refused, so the link is neither let in unrecorded nor burnt.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errnoCode, messageOf } from '../errors.js';
import { writeFileDurably, type DurableFs } from '../fs/durable-write.js';
import type { Logger } from '../log.js';
import { removeLeftoverTempFiles } from '../store/durable.js';

/** `…/transfer_progress.json` → `…/transfer_progress.used-links.json` (`….shard-0.json` → `….shard-0.used-links.json`). */
export function usedLinksPathFor(progressPath: string): string {
  return path.join(path.dirname(progressPath), `${path.basename(progressPath, '.json')}.used-links.json`);
}

const fileSchema = z.object({
  version: z.literal(1),
  /** Link nonce → the link's expiry, ms since the epoch. */
  used: z.record(z.string(), z.number()),
});

/** What a claim comes to: the link is now used, was used before, or could not be recorded. */
export type Claim = 'claimed' | 'used' | 'unrecorded';

/** A bound on what memory (and the file) holds, however many links are made. */
const MAX_USED_LINKS = 100_000;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export interface UsedLinksOptions {
  log: Logger;
  now?: () => number;
  /** The durable write's file-system calls (tests fail or hold them). */
  fs?: DurableFs;
}

export class UsedLinks {
  readonly #file: string | null;
  readonly #used: Map<string, number>;
  /** Links that expire before this were made before a start that could not read the record: all refused. */
  readonly #refuseExpiringBefore: number;
  readonly #options: UsedLinksOptions;
  #waiters: Waiter[] = [];
  #writing: Promise<void> | null = null;

  private constructor(file: string | null, used: Map<string, number>, refuseExpiringBefore: number, options: UsedLinksOptions) {
    this.#file = file;
    this.#used = used;
    this.#refuseExpiringBefore = refuseExpiringBefore;
    this.#options = options;
  }

  /** In memory only: for a random WEB_SECRET, whose links a restart ends anyway. */
  static inMemory(options: UsedLinksOptions): UsedLinks {
    return new UsedLinks(null, new Map(), 0, options);
  }

  /**
   * Reads the record at `file` (none yet: nothing used). A record that cannot be read is
   * not trusted to be complete: every link made before this start (expiring within
   * `linkTtlMs` from now) is refused instead, and the record is replaced at the next sign-in.
   */
  static async open(file: string, linkTtlMs: number, options: UsedLinksOptions): Promise<UsedLinks> {
    const now = (options.now ?? Date.now)();
    // Only the bot holding the progress file's lock writes here, so no writer is active.
    await removeLeftoverTempFiles(file);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return new UsedLinks(file, new Map(), 0, options);
      return UsedLinks.#unreadable(file, now + linkTtlMs, messageOf(error), options);
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (error) {
      return UsedLinks.#unreadable(file, now + linkTtlMs, messageOf(error), options);
    }
    const used = new Map(Object.entries(parsed.used).filter(([, expiry]) => expiry > now));
    return new UsedLinks(file, used, 0, options);
  }

  static #unreadable(file: string, until: number, problem: string, options: UsedLinksOptions): UsedLinks {
    options.log.warn(
      { event: 'used_links_unreadable', file, problem },
      'the record of used sign-in links cannot be read: every sign-in link made before this start is refused',
    );
    return new UsedLinks(file, new Map(), until, options);
  }

  /**
   * Marks the link with `nonce` (valid until `expiresAt`) used. Checked and reserved before
   * the first await; resolves once the record is durable, or released again if it cannot be.
   */
  async claim(nonce: string, expiresAt: number): Promise<Claim> {
    const now = this.#now();
    for (const [n, expiry] of this.#used) if (expiry <= now) this.#used.delete(n);
    if (expiresAt <= this.#refuseExpiringBefore || this.#used.has(nonce)) return 'used';
    if (this.#used.size >= MAX_USED_LINKS) this.#used.delete(this.#used.keys().next().value as string);
    this.#used.set(nonce, expiresAt);
    if (this.#file === null) return 'claimed';
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ resolve, reject });
        if (this.#writing === null) this.#writing = this.#drain(this.#file!);
      });
      return 'claimed';
    } catch (error) {
      this.#used.delete(nonce);
      this.#options.log.warn(
        { event: 'sign_in_unrecorded', err: error },
        'a sign-in was refused: the record of used sign-in links cannot be written, so the link stays unused',
      );
      return 'unrecorded';
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** One writer: claims arriving during a write go out together in the next one. */
  async #drain(file: string): Promise<void> {
    try {
      await Promise.resolve();
      while (this.#waiters.length > 0) {
        const batch = this.#waiters.splice(0);
        const text = `${JSON.stringify({ version: 1, used: Object.fromEntries(this.#used) })}\n`;
        try {
          await writeFileDurably(file, text, { mode: 0o600, ...(this.#options.fs ? { fs: this.#options.fs } : {}) });
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      this.#writing = null;
    }
  }
}

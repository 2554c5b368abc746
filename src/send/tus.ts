/**
 * tus 1.0.0 at `/files/` (README, 'Sending from your own computer'): the protocol is
 * @tus/server's; what it stores is ours. The data store below makes each upload a transfer:
 * creating an upload records a transfer and starts its run (which waits for bytes), a PATCH
 * appends to the upload's staging folder, HEAD reports the staged offset, DELETE is a
 * cancel, and an upload's "creation date" for tus's expiration is when its last byte came,
 * so `Upload-Expires` says when SEND_EXPIRY_HOURS of silence will end it.
 *
 * Who asks is settled before tus sees the request (../web/routes/files.ts): the route hands
 * the member's grant over here, keyed by the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { MemoryLocker, Server } from '@tus/server';
import { DataStore, ERRORS, Upload, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import { newEncryption } from '../transfer/encryption.js';
import type { TransferRunner } from '../transfer/runner.js';
import { transferRecipients } from '../crypto/age.js';
import type { SendGrant } from './grant.js';
import type { SendUploads } from './uploads.js';

export interface TusDeps {
  store: ProgressStore;
  transfers: TransferRunner;
  uploads: SendUploads;
  log: Logger;
  /** MAX_FILE_SIZE_BYTES */
  maxFileSize: number;
  /** MAX_ACTIVE_TRANSFERS */
  maxActive: number;
  /** WEB_PUBLIC_URL: where upload URLs point. */
  publicUrl: string;
}

/** An answer tus sends as it is: @tus/server answers any error with `status_code` and `body`. */
class TusAnswer extends Error {
  readonly status_code: number;
  readonly body: string;

  constructor(status: number, message: string) {
    super(message);
    this.status_code = status;
    this.body = `${message}\n`;
  }
}

const refuse = (status: number, message: string) => new TusAnswer(status, message);
/** tus's own "not found", as an Error. */
const notFound = () => new TusAnswer(ERRORS.FILE_NOT_FOUND.status_code, ERRORS.FILE_NOT_FOUND.body.trim());

/**
 * tus's own lock per upload, which also stops our write when a newer request for the same
 * upload asks for the lock. A PATCH held by the staging pause is not reading its body, so it
 * would not notice tus ending it, and would hold the lock (and the sender's retry) until
 * Discord caught up; a sender whose connection died silently retries on a new one.
 */
class StoppingLocker implements Locker {
  readonly #inner = new MemoryLocker();
  readonly #writes = new Map<string, AbortController>();

  newLock(id: string): Lock {
    const lock = this.#inner.newLock(id);
    return {
      lock: (signal: AbortSignal, requestRelease: RequestRelease) =>
        lock.lock(signal, () => {
          this.#writes.get(id)?.abort(new Error('a newer request for this upload came'));
          return requestRelease();
        }),
      unlock: () => lock.unlock(),
    };
  }

  /** A signal that aborts when a newer request wants the upload `id`; `done` when the write ends. */
  writing(id: string): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    this.#writes.set(id, controller);
    return { signal: controller.signal, done: () => this.#writes.get(id) === controller && this.#writes.delete(id) };
  }
}

class TransferStore extends DataStore {
  readonly #deps: TusDeps;
  readonly #locker: StoppingLocker;

  constructor(deps: TusDeps, locker: StoppingLocker) {
    super();
    this.#deps = deps;
    this.#locker = locker;
    this.extensions = ['creation', 'termination', 'expiration'];
  }

  #transfer(id: string): StoredTransfer {
    const t = this.#deps.store.get(id);
    if (!t || t.source.kind !== 'send') throw notFound();
    return t;
  }

  override async create(upload: Upload): Promise<Upload> {
    // The transfer was recorded when its id was chosen (namingFunction); its run starts now and waits for bytes.
    const t = this.#transfer(upload.id);
    await this.#deps.uploads.staging(t);
    this.#deps.transfers.start(t.id);
    upload.creation_date = new Date().toISOString();
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const t = this.#transfer(id);
    if (t.source.kind !== 'send') throw notFound();
    if (t.status === 'cancelled') throw refuse(410, `This upload was cancelled${lastNote(t)}.`);
    if (t.status === 'complete') return new Upload({ id, size: t.source.size, offset: t.source.size, metadata: { filename: t.source.name } });
    const staging = await this.#deps.uploads.staging(t);
    return new Upload({
      id,
      size: staging.size,
      offset: await staging.settledOffset(),
      metadata: { filename: t.source.name },
      creation_date: new Date(staging.lastReceivedAt).toISOString(),
    });
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const t = this.#transfer(id);
    // A /resume answered while the failed run settles: the record says error until the new run starts.
    if (t.status === 'error' && !this.#deps.transfers.resuming(t.id)) {
      throw refuse(409, `This transfer stopped with an error${lastNote(t)}. Run /resume transfer:${t.id} in Discord, then send again.`);
    }
    const staging = await this.#deps.uploads.staging(t);
    // The sender going on after a restart of the bot is the resume of an interrupted transfer.
    if (t.status === 'interrupted' || t.status === 'pending') this.#deps.transfers.start(t.id);
    const writing = this.#locker.writing(id);
    try {
      return await staging.write(stream, offset, writing.signal);
    } catch (error) {
      if (writing.signal.aborted) return staging.offset;
      if (staging.offset === offset) throw error;
      // What arrived before the failure is staged and reported; the client goes on from there.
      this.#deps.log.warn({ err: error, transfer_id: id }, 'an upload request ended early');
      return staging.offset;
    } finally {
      writing.done();
    }
  }

  override async remove(id: string): Promise<void> {
    this.#transfer(id);
    await this.#deps.transfers.cancel(id, { deletePosted: false });
  }

  override getExpiration(): number {
    return this.#deps.uploads.limits.expiryMs;
  }

  override deleteExpired(): Promise<number> {
    return Promise.resolve(0); // SendUploads ends idle uploads itself, as cancels with a note
  }
}

function lastNote(t: StoredTransfer): string {
  const note = t.notes.at(-1);
  return note ? `: ${note}` : '';
}

/** Serves tus requests for members whose grant the caller has checked. */
export class TusEndpoint {
  readonly #server: Server;
  readonly #grants = new WeakMap<IncomingMessage, SendGrant>();
  readonly #deps: TusDeps;

  constructor(deps: TusDeps) {
    this.#deps = deps;
    const locker = new StoppingLocker();
    this.#server = new Server({
      path: '/files',
      datastore: new TransferStore(deps, locker),
      locker,
      // WEB_PUBLIC_URL, not the request's Host: the page may sit behind a proxy, under a path.
      generateUrl: (_req, { id }) => `${deps.publicUrl}/files/${encodeURIComponent(id)}`,
      maxSize: deps.maxFileSize,
      namingFunction: (req) => this.#admit(req),
      onResponseError: (_req, error) => {
        // tus's own answers (a body past Upload-Length is its MaxFileExceededError, 413) go out as they are.
        if (!(error instanceof Error) || error instanceof TusAnswer || typeof (error as { status_code?: unknown }).status_code === 'number')
          return undefined;
        deps.log.error({ err: error }, 'upload request failed');
        return { status_code: 500, body: 'The bot could not take this upload request; its log says why.\n' };
      },
    });
  }

  /** OPTIONS: what this server supports (tus answers it without a grant). */
  options(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#server.handle(req, res);
  }

  handle(req: IncomingMessage, res: ServerResponse, grant: SendGrant): Promise<void> {
    this.#grants.set(req, grant);
    return this.#server.handle(req, res);
  }

  /** A new upload: every check of a new transfer, then the record; its id is the upload's. */
  async #admit(req: { headers: Headers; runtime?: { node?: { req?: object } | undefined } | undefined }): Promise<string> {
    const node = req.runtime?.node?.req;
    const grant = node ? this.#grants.get(node as IncomingMessage) : undefined;
    if (!grant) throw refuse(401, 'Sign in again: open a new link from /send.');
    const { transfers, uploads, maxFileSize, maxActive, log } = this.#deps;
    const length = Number(req.headers.get('upload-length') ?? '');
    if (!Number.isSafeInteger(length) || length <= 0) throw refuse(400, 'The file is empty: there is nothing to send.');
    if (length > maxFileSize) throw refuse(413, `The file is ${length} bytes, above this bot's limit of ${maxFileSize} bytes (MAX_FILE_SIZE_BYTES).`);
    const name = fileNameOf(req.headers.get('upload-metadata'));
    const slot = transfers.reserve(grant.userId, maxActive);
    if (!slot) {
      throw refuse(
        403,
        `You already have ${transfers.activeCount(grant.userId)} unfinished transfers (the limit is ${maxActive}); wait for one to finish or /cancel one.`,
      );
    }
    try {
      try {
        uploads.claim(slot.id, length, grant.target.chunkSize);
      } catch (error) {
        if (error instanceof UserError) throw refuse(507, error.message);
        throw error;
      }
      try {
        const encryption = await newEncryption(await transferRecipients([], grant.target.recipients));
        const t = await transfers.createSendTransfer({
          slot,
          chunkSize: grant.target.chunkSize,
          attachmentSizeLimit: grant.target.attachmentSizeLimit,
          ownerId: grant.userId,
          channelId: grant.target.channelId,
          guildId: grant.guildId,
          encryption,
          name,
          size: length,
        });
        log.info({ event: 'send_created', transfer_id: t.id, size: length }, 'an upload from a member started');
        return t.id;
      } catch (error) {
        uploads.unclaim(slot.id);
        if (error instanceof UserError) throw refuse(400, error.message);
        throw error;
      }
    } finally {
      slot.release();
    }
  }
}

/**
 * The `filename` of tus `Upload-Metadata` (tus has checked the base64); `upload` without one.
 * The transfer makes it safe (plan.ts, sanitizeName): path separators, control characters and
 * length are dealt with there, as for every source.
 */
function fileNameOf(header: string | null): string {
  for (const pair of (header ?? '').split(',')) {
    const [key, value] = pair.trim().split(' ');
    if (key === 'filename' && value) {
      // Also recorded as the sender gave it (a download link is named after it): no control
      // characters, and no longer than a file system allows.
      const name = firstCharacters(
        Buffer.from(value, 'base64')
          .toString('utf8')
          .replace(/\p{Cc}/gu, ''),
        MAX_SENT_NAME,
      );
      if (name.trim() !== '') return name;
    }
  }
  return 'upload';
}

/** Characters of a sender's file name kept (most file systems allow 255 bytes). */
const MAX_SENT_NAME = 255;

/** The first `count` characters as a reader sees them (an emoji or an accented letter is not cut in two). */
function firstCharacters(text: string, count: number): string {
  let out = '';
  let n = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) {
    if (n++ >= count) break;
    out += segment;
  }
  return out;
}

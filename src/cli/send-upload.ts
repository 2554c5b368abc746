/**
 * One tus upload from Node with tus-js-client: a new upload at the bot's `/files/`, or the
 * one a first run began, from the offset the bot reports (HEAD, then PATCH from there).
 *
 * The file goes in as an `fs.ReadStream` with its path, which tus-js-client reads as a file
 * source: every PATCH is a fresh read stream from the offset, streamed into the request, so
 * memory stays small whatever the file's size and a retry can start anywhere.
 */
import { createReadStream } from 'node:fs';
import * as tus from 'tus-js-client';
import { SendUploadError } from '../errors.js';

export interface TusRun {
  file: string;
  size: number;
  name: string;
  grant: string;
  /** The bot's tus endpoint, for a new upload. */
  files: string;
  /** The upload a first run began; it is never replaced by a new one. */
  uploadUrl: string | null;
  signal: AbortSignal;
  /** Called once the upload has an address; the bytes go only once it resolved (so a rerun can find them). */
  onUrl: (url: string) => Promise<void>;
  onProgress: (sent: number) => void;
}

// A dropped connection is tried again for about 10 minutes, then left to the user's rerun.
const RETRY_DELAYS = [0, 1_000, 3_000, 5_000, 10_000, 20_000, 30_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000];

/** Uploads until the bot has every byte; rejects with a SendUploadError, or the signal's reason. */
export function tusUpload(run: TusRun): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let saving: Promise<void> = Promise.resolve();
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      run.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const upload = new tus.Upload(createReadStream(run.file), {
      // Without an endpoint, tus-js-client answers a lost upload with an error instead of silently starting another.
      ...(run.uploadUrl === null ? { endpoint: run.files } : { uploadUrl: run.uploadUrl }),
      uploadSize: run.size,
      headers: { Authorization: `Bearer ${run.grant}` },
      metadata: { filename: run.name },
      chunkSize: Infinity,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: false,
      onShouldRetry: (err) => shouldRetry(err.originalResponse?.getStatus() ?? 0),
      onUploadUrlAvailable: () => {
        upload.options.endpoint = null; // from now on, this upload or none
        saving = run.onUrl(upload.url!);
        saving.catch((err: unknown) => {
          void upload.abort();
          settle(() => reject(err instanceof Error ? err : new Error(String(err))));
        });
      },
      onBeforeRequest: (req) => (req.getMethod() === 'PATCH' ? saving : undefined),
      onProgress: (sent) => run.onProgress(sent),
      onSuccess: () => settle(() => resolve(upload.url!)),
      onError: (err) => settle(() => reject(tusFailure(err))),
    });
    const onAbort = () => {
      void upload.abort();
      settle(() => reject(run.signal.reason as Error));
    };
    if (run.signal.aborted) return onAbort();
    run.signal.addEventListener('abort', onAbort, { once: true });
    upload.start();
  });
}

/** No answer, a server error, 423 (locked: the bot still ends an earlier request) and 409 (an offset the HEAD will correct). */
function shouldRetry(status: number): boolean {
  return status === 0 || status >= 500 || status === 423 || status === 409;
}

function tusFailure(err: Error | tus.DetailedError): SendUploadError {
  const res = 'originalResponse' in err ? err.originalResponse : null;
  if (!res) return new SendUploadError(`the upload failed: ${causeOf(err)}`, 0);
  const said = res.getBody().trim().slice(0, 500);
  return new SendUploadError(`the bot answered the upload with HTTP ${res.getStatus()}${said ? `: ${said}` : ''}`, res.getStatus());
}

/** tus-js-client's message carries the request's details; its cause says what happened. */
function causeOf(err: Error | tus.DetailedError): string {
  const cause = 'causingError' in err ? err.causingError : null;
  return cause?.message ?? err.message.split('\n')[0] ?? 'no answer';
}

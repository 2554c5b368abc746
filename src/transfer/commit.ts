/**
 * The commit point of a transfer (README, 'Commands'): once every part is posted and
 * recorded, the manifest is posted, and only then does the record say `complete`. A
 * manifest a resumed run found posted but never recorded is recorded, not posted again.
 */
import { RetryFailure } from '../errors.js';
import type { PartSource } from './chunker.js';
import { reasonOf } from './failure.js';
import { buildManifest, type Manifest } from './manifest.js';
import { noteFailure, runRetryOptions, type SendContext } from './part-sender.js';
import { retry } from './retry.js';

export interface PostedManifest {
  message_id: string;
  attachment_id: string;
}

/** All parts are posted: post the manifest (the commit point), then mark the transfer complete. */
export async function commit(ctx: SendContext, source: PartSource, foundManifest: PostedManifest | null, onEnding?: () => void): Promise<void> {
  const t = ctx.record();
  const fileSha256 = source.wholeFileSha256();
  if (fileSha256 === null) {
    ctx.outcome.fail('the source did not produce a whole-file hash');
    return;
  }
  const completedAt = ctx.now().toISOString();
  const built = buildManifest(t, fileSha256, completedAt);
  if (built.manifest === null) {
    ctx.outcome.fail(`parts missing after the stream: ${built.gaps}`);
    return;
  }
  const { manifest } = built;
  const fileSize = manifest.file.size;
  const total = manifest.chunks.length;
  const posted = foundManifest ?? (await postManifest(ctx, manifest));
  if (posted === null) return;
  if (posted === foundManifest) {
    ctx.log.info(
      { event: 'manifest_found', transfer_id: ctx.id, message_id: posted.message_id },
      'posted manifest recorded without posting it again',
    );
  }
  onEnding?.();
  await ctx.save((draft) => {
    draft.manifest_message_id = posted.message_id;
    draft.file_sha256 = fileSha256;
    draft.file_size ??= fileSize;
    draft.total_chunks ??= total;
    draft.completed_at = completedAt;
    draft.status = 'complete';
  });
  const started = ctx.record().started_at;
  const startedAt = started ? Date.parse(started) : Number.NaN;
  ctx.log.info(
    {
      event: 'transfer_complete',
      transfer_id: ctx.id,
      bytes: fileSize,
      parts: total,
      manifest_message_id: posted.message_id,
      ...(Number.isNaN(startedAt) ? {} : { duration_ms: Date.parse(completedAt) - startedAt }),
    },
    'transfer_complete',
  );
}

/** Posts the manifest with retries; null when it failed (the failure is recorded). */
async function postManifest(ctx: SendContext, manifest: Manifest): Promise<PostedManifest | null> {
  const nonce = `${ctx.id.slice('upload_'.length)}.m`;
  try {
    const { value } = await retry(
      (attempt) => ctx.sink.sendManifest(ctx.record(), manifest, { signal: ctx.signal, nonce, attempt }),
      runRetryOptions(ctx, (err, attempt, delayMs) => {
        ctx.metrics?.retry(reasonOf(err));
        ctx.log.warn(
          { event: 'chunk_retry', transfer_id: ctx.id, chunk: 'manifest', attempt, reason: reasonOf(err), delay_ms: delayMs },
          'chunk_retry',
        );
      }),
    );
    return value;
  } catch (err) {
    noteFailure(
      ctx,
      err instanceof RetryFailure ? err.cause : err,
      `posting the manifest`,
      undefined,
      err instanceof RetryFailure ? err.attempts : 1,
    );
    return null;
  }
}

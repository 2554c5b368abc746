/**
 * The commit point of a transfer (README, 'Commands'): once every part is posted and
 * recorded, the manifest is posted, and only then does the record say `complete`. A
 * manifest a resumed run found posted but never recorded is recorded, not posted again.
 */
import { RetryFailure } from '../errors.js';
import type { PartSource } from './chunker.js';
import { buildManifest, type Manifest } from './manifest.js';
import type { SenderCollaborators } from './part-sender.js';
import type { PostedManifest } from './sink.js';

/** All parts are posted: post the manifest (the commit point), then mark the transfer complete. */
export async function commit(run: SenderCollaborators, source: PartSource, foundManifest: PostedManifest | null): Promise<void> {
  const { record, outcome, reporter } = run;
  const fileSha256 = source.wholeFileSha256();
  if (fileSha256 === null) {
    outcome.fail('the source did not produce a whole-file hash');
    return;
  }
  const completedAt = run.now().toISOString();
  const built = buildManifest(record.current, fileSha256, completedAt);
  if (built.manifest === null) {
    outcome.fail(`parts missing after the stream: ${built.gaps}`);
    return;
  }
  const { manifest } = built;
  const fileSize = manifest.file.size;
  const total = manifest.chunks.length;
  const posted = foundManifest ?? (await postManifest(run, manifest));
  if (posted === null) return;
  if (posted === foundManifest) reporter.manifestFound(posted.message_id);
  reporter.ending();
  await record.save((draft) => {
    draft.manifest_message_id = posted.message_id;
    draft.manifest_channel_id = posted.channel_id;
    draft.file_sha256 = fileSha256;
    draft.file_size ??= fileSize;
    draft.total_chunks ??= total;
    draft.completed_at = completedAt;
    draft.status = 'complete';
  });
  reporter.complete({ bytes: fileSize, parts: total, manifestMessageId: posted.message_id, startedAt: record.current.started_at, completedAt });
}

/** Posts the manifest with retries; null when it failed (the failure is the run's outcome). */
async function postManifest(run: SenderCollaborators, manifest: Manifest): Promise<PostedManifest | null> {
  const { sink, record, retries, reporter, outcome } = run;
  const nonce = `${record.id.slice('upload_'.length)}.m`;
  try {
    const { value } = await retries.run(
      (attempt) => sink.sendManifest(record.current, manifest, { signal: outcome.signal, nonce, attempt }),
      (err, attempt, delayMs) => reporter.manifestRetry(err, attempt, delayMs),
    );
    return value;
  } catch (err) {
    const failure = err instanceof RetryFailure ? err : null;
    outcome.failWith(failure ? failure.cause : err, 'posting the manifest', undefined, failure ? failure.attempts : 1);
    return null;
  }
}

/**
 * A transfer's progress message on Discord (README, 'What survives what'): one channel message of its
 * own, posted when a run first starts, edited at most every PROGRESS_EDIT_INTERVAL_MS while
 * it runs, and always given a final edit with its end state. That last edit is retried with
 * backoff so a REST blip cannot leave "uploading 20%" behind for good; whether it landed is
 * recorded (`progress_edit_landed`) so the next start can make it (`repairEnds`). A complete
 * transfer's end carries a "Download" link button when `downloadLink` gives a link (README,
 * 'Download links').
 */
import { Routes, type APIActionRowComponent, type APIButtonComponent, type APIMessage, type REST } from 'discord.js';
import { DiskWriteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { Rate } from '../transfer/rate.js';
import { progressChannelId } from '../transfer/part-records.js';
import type { PostedMessage } from '../transfer/sink.js';
import { retry } from '../transfer/retry.js';
import type { LiveProgress, ProgressDisplay, ProgressView } from '../transfer/progress-view.js';
import { classifyRestError } from './classify.js';
import { LINK_BUTTON_MAX_URL, renderEndComponents, renderProgress, ThrottledEditor } from './progress.js';
import type { TransferThreads } from './threads.js';

export interface ProgressMessageOptions {
  rest: REST;
  store: ProgressStore;
  log: Logger;
  /** PROGRESS_EDIT_INTERVAL_MS */
  editIntervalMs: number;
  /** The final edit's retries: RETRY_LIMIT_PER_CHUNK and RETRY_BACKOFF_BASE_MS, as for parts. */
  retryLimit: number;
  backoffBaseMs: number;
  /**
   * The Download button's link for a complete transfer, at most `maxLength` characters; null for
   * no button (the web page off, AUTO_SHARE_HOURS=0, links revoked). Never logged: it is a credential.
   */
  downloadLink: (transfer: StoredTransfer, maxLength: number) => string | null;
  /** The transfer's thread (PARTS_IN): made once the message is there, archived once the end is shown. */
  threads?: TransferThreads | undefined;
}

export class DiscordProgressMessages implements ProgressView {
  readonly #options: ProgressMessageOptions;

  constructor(options: ProgressMessageOptions) {
    this.#options = options;
  }

  /** The transfer's own progress message, posted once and edited from then on. */
  async begin(transfer: StoredTransfer, signal: AbortSignal): Promise<ProgressDisplay | null> {
    const { rest, store, log } = this.#options;
    let messageId = transfer.progress_message_id;
    if (!messageId) {
      try {
        const posted = await this.#options.threads?.startForumPost(transfer, renderProgress(transfer));
        if (posted) return this.#display(store.get(transfer.id) ?? transfer, posted);
        const message = (await rest.post(Routes.channelMessages(transfer.channel_id), { body: { content: renderProgress(transfer) } })) as APIMessage;
        messageId = message.id;
        await store
          .update(transfer.id, (t) => {
            t.progress_message_id = message.id;
            t.progress_channel_id = transfer.channel_id;
          })
          .catch((error: unknown) => {
            // Kept in memory until the disk allows; the run pauses at its own first write.
            if (!(error instanceof DiskWriteError && error.kept)) throw error;
          });
      } catch (error) {
        // The transfer itself will meet the same refusal and end with a note; don't stop here.
        log.warn({ err: error, transfer_id: transfer.id }, 'could not post the progress message');
        return null;
      }
    }
    // Before any part is posted: they go to the thread started from this message (threads.ts).
    // A run stopped meanwhile (a /cancel, a shutdown) does not wait for Discord's answer: it posts nothing.
    await this.#options.threads?.prepare(store.get(transfer.id) ?? transfer, messageId, signal).catch((error: unknown) => {
      if (!signal.aborted) log.warn({ err: error, transfer_id: transfer.id }, 'could not prepare the transfer thread; its parts go to the channel');
    });
    return this.#display(store.get(transfer.id) ?? transfer, messageId);
  }

  /** The edits of a run's progress message `id`, at most every PROGRESS_EDIT_INTERVAL_MS. */
  #display(transfer: StoredTransfer, id: string): ProgressDisplay {
    const { log, editIntervalMs } = this.#options;
    const channelId = this.#channelOf(transfer);
    const editor = new ThrottledEditor(async (content) => {
      try {
        await this.#edit(channelId, id, content);
      } catch (error) {
        log.warn({ err: error, transfer_id: transfer.id }, 'could not edit the progress message');
      }
    }, editIntervalMs);
    return {
      update: (t: StoredTransfer, rate: Rate, live?: LiveProgress) => editor.update(renderProgress(t, rate, live)),
      stop: () => editor.stop(),
    };
  }

  async showEnd(transfer: StoredTransfer, rate: Rate | undefined, signal: AbortSignal): Promise<void> {
    const { log, retryLimit, backoffBaseMs } = this.#options;
    const messageId = transfer.progress_message_id;
    if (!messageId) return;
    let landed = true;
    // Recorded as missing first: a stop or a kill during the retries below leaves it for the next start.
    await this.#recordLanded(transfer.id, false);
    await this.#options.threads?.reopenPost(transfer);
    try {
      const components = renderEndComponents(transfer, this.#options.downloadLink(transfer, LINK_BUTTON_MAX_URL));
      await retry(() => this.#edit(this.#channelOf(transfer), messageId, renderProgress(transfer, rate), components), {
        limit: retryLimit,
        baseMs: backoffBaseMs,
        retryable: (error) => classifyRestError(error).kind === 'transient',
        signal,
      });
    } catch (error) {
      landed = false;
      log.warn({ err: error, transfer_id: transfer.id }, 'could not show the end state in the progress message; the next start will');
    }
    // Ended (not interrupted): its thread goes out of the way; a post by /resume takes it back.
    if (transfer.status === 'complete' || transfer.status === 'error' || transfer.status === 'cancelled') {
      await this.#options.threads?.archive(transfer, signal);
    }
    if (landed) await this.#recordLanded(transfer.id, true);
  }

  /** Records whether the end state is shown (`progress_edit_landed`); a write the disk refuses is logged, not thrown. */
  async #recordLanded(id: string, landed: boolean): Promise<void> {
    const { store, log } = this.#options;
    if (store.get(id)?.progress_edit_landed !== !landed) return;
    await store
      .update(id, (t) => {
        t.progress_edit_landed = landed;
      })
      .catch((error: unknown) => log.warn({ err: error, transfer_id: id }, 'could not record the progress edit'));
  }

  /** The progress messages of transfers not running whose edit with the end state never landed (a REST outage, a stop) get it now. */
  async repairEnds(isRunning: (id: string) => boolean, signal: AbortSignal): Promise<string[]> {
    const { store } = this.#options;
    const missed = store.list().filter((t) => !t.progress_edit_landed && t.progress_message_id !== null);
    const shown: string[] = [];
    for (const { id } of missed) {
      const transfer = store.get(id);
      // A /resume may have started it meanwhile: its own edits say more.
      if (!transfer || isRunning(id)) continue;
      await this.showEnd(transfer, undefined, signal);
      shown.push(id);
    }
    return shown;
  }

  /** The channel the progress message is in (a forum post's thread: threads.ts). */
  #channelOf(transfer: StoredTransfer): string {
    return this.#options.threads?.progressChannelId(transfer) ?? progressChannelId(transfer);
  }

  /** Edits the message's text; with `components`, its buttons too (else they stay as they are). */
  async #edit(channelId: string, messageId: string, content: string, components?: APIActionRowComponent<APIButtonComponent>[]): Promise<void> {
    await this.#options.rest.patch(Routes.channelMessage(channelId, messageId), { body: components ? { content, components } : { content } });
  }
}

/** Deletes a transfer's part messages (`/cancel delete_posted`), each in its own channel; one already gone counts as deleted. */
export async function deleteMessages(
  rest: REST,
  log: Logger,
  transfer: StoredTransfer,
  messages: readonly PostedMessage[],
): Promise<{ deleted: number; failed: number }> {
  let deleted = 0;
  let failed = 0;
  for (const { channel_id: channelId, message_id: messageId } of messages) {
    try {
      await rest.delete(Routes.channelMessage(channelId, messageId));
      deleted++;
    } catch (error) {
      if (classifyRestError(error).reason === 'http_404') deleted++;
      else {
        failed++;
        log.warn({ err: error, transfer_id: transfer.id, message_id: messageId }, 'could not delete a part message');
      }
    }
  }
  return { deleted, failed };
}

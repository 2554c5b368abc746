/** The progress message: rendering (pure) and a throttled editor for the edits while a transfer runs. */
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import type { StoredTransfer } from '../store/types.js';
import type { TransferRecord } from '../store/schema.js';
import { MIB } from '../transfer/plan.js';
import { manifestChannelId, ownThread } from '../transfer/part-records.js';
import { fractionDone, type Rate } from '../transfer/rate.js';
import type { LiveProgress } from '../transfer/progress-view.js';

const BAR_WIDTH = 20;

export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${r}s` : `${r}s`;
}

const STATUS_LABEL: Record<TransferRecord['status'], string> = {
  pending: '⏳ pending',
  in_progress: '📤 uploading',
  interrupted: '⏸️ interrupted',
  complete: '✅ complete',
  error: '❌ error',
  cancelled: '🛑 cancelled',
};

/** `12.34 MiB/s · ETA 5m 3s` while running with a measured rate, else null. */
export function rateLine(transfer: StoredTransfer, bytesPerSecond: number | null): string | null {
  if (transfer.status !== 'in_progress' || !bytesPerSecond) return null;
  const eta = ((transfer.file_size ?? 0) - transfer.bytes_done) / bytesPerSecond;
  return `${(bytesPerSecond / MIB).toFixed(2)} MiB/s · ETA ${formatDuration(eta)}`;
}

/** What a run waiting for the sender shows instead of "uploading" (its status stays `in_progress`). */
export const WAITING_FOR_SENDER = 'waiting for the sender';

export function renderProgress(transfer: StoredTransfer, rate: Rate = { bytesPerSecond: null }, live?: LiveProgress): string {
  const size = transfer.file_size ?? 0;
  const fraction = fractionDone(transfer);
  const waiting = transfer.status === 'in_progress' && live?.waitingForSender === true;
  const lines = [
    `**${transfer.file_name}** · \`${transfer.id}\` · ${waiting ? `⏳ ${WAITING_FOR_SENDER}` : STATUS_LABEL[transfer.status]}`,
    `\`${progressBar(fraction)}\` ${(fraction * 100).toFixed(1)}% · parts ${transfer.completed_chunks.length}/${transfer.total_chunks ?? 0} · ${(transfer.bytes_done / MIB).toFixed(1)}/${(size / MIB).toFixed(1)} MiB`,
  ];
  // While nothing comes, the rate falls and the ETA grows by the second: neither says anything.
  const speed = waiting ? null : rateLine(transfer, rate.bytesPerSecond);
  if (speed) lines.push(speed);
  if (transfer.retries > 0) lines.push(`retries so far: ${transfer.retries}`);
  lines.push(...whereLines(transfer));
  const lastNote = transfer.notes.at(-1);
  if ((transfer.status === 'error' || transfer.status === 'interrupted' || transfer.status === 'cancelled') && lastNote) {
    lines.push(`note: ${lastNote.slice(0, 500)}`);
  }
  return lines.join('\n');
}

/** How every note about parts going to the channel instead of a thread begins (threads.ts writes it). */
export const IN_CHANNEL_NOTE = 'parts go to the channel, not a thread';

/** How every note about a transfer posting through fewer lanes than MAX_PARALLEL_UPLOADS begins (threads.ts writes it). */
export const FEWER_LANES_NOTE = 'parts go through fewer lanes';

/** Where the parts are: the transfer's threads, its lanes (and, once posted there, its manifest), or why they are in the channel. */
function whereLines(transfer: StoredTransfer): string[] {
  const thread = ownThread(transfer);
  if (!thread) {
    const why = transfer.notes.findLast((n) => n.startsWith(IN_CHANNEL_NOTE));
    return why === undefined ? [] : [`🧵 ${why.slice(0, 300)}`];
  }
  // Every lane (README, 'Lanes'), the transfer's own thread first: at most 8 mentions of some 22 characters.
  const lanes = [...transfer.threads].sort((a, b) => a.lane - b.lane);
  const lines = [`🧵 parts in ${lanes.map((t) => `<#${t.id}>`).join(' ')}`];
  const manifestChannel = manifestChannelId(transfer);
  if (
    transfer.status === 'complete' &&
    transfer.manifest_message_id !== null &&
    transfer.guild_id !== null &&
    manifestChannel !== transfer.channel_id
  ) {
    lines.push(`manifest: https://discord.com/channels/${transfer.guild_id}/${manifestChannel}/${transfer.manifest_message_id}`);
  }
  return lines;
}

/** Discord's longest `url` of a link button. */
export const LINK_BUTTON_MAX_URL = 512;

/**
 * The components of a progress message showing its end: a "Download" link button to `downloadUrl`
 * for a complete transfer, else none (an edit with `[]` takes away a button shown before).
 */
export function renderEndComponents(transfer: StoredTransfer, downloadUrl: string | null): APIActionRowComponent<APIButtonComponent>[] {
  if (transfer.status !== 'complete' || downloadUrl === null) return [];
  return [
    {
      type: ComponentType.ActionRow,
      components: [{ type: ComponentType.Button, style: ButtonStyle.Link, label: 'Download', url: downloadUrl }],
    },
  ];
}

/**
 * Edits one message at most every `intervalMs`; the newest state wins. `stop` ends the edits,
 * so that the caller's edit with the end state (retried, see progress-message.ts) comes last.
 */
export class ThrottledEditor {
  private lastEdit = 0;
  /** The content of the last edit made: the same again is no edit (a run waiting for its sender changes nothing). */
  private lastContent: string | null = null;
  private pending: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private finished = false;

  constructor(
    private readonly edit: (content: string) => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  update(content: string): void {
    if (this.finished) return;
    this.pending = content;
    const wait = this.lastEdit + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  /** No more edits: drops the one waiting for its turn and resolves once the one in flight settled. */
  async stop(): Promise<void> {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    await this.chain;
  }

  private flush(): void {
    const content = this.pending;
    if (content === null) return;
    this.pending = null;
    if (content === this.lastContent) return;
    this.lastContent = content;
    this.lastEdit = this.now();
    this.chain = this.chain.then(() => this.edit(content)).catch(() => undefined);
  }
}

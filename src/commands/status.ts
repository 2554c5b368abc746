import type { StoredTransfer } from '../store/types.js';
import { MessageFlags } from 'discord.js';
import { fitMessage } from '../discord/message-text.js';
import { progressBar, rateLine, WAITING_FOR_SENDER } from '../discord/progress.js';
import { manifestChannelId, progressChannelId } from '../transfer/part-records.js';
import { fractionDone } from '../transfer/rate.js';
import { formatMiB, MIB } from '../transfer/plan.js';
import type { TransferRunner } from '../transfer/runner.js';

import { autocompleteTransfers } from './autocomplete.js';
import { visibleTransfer } from './lookup.js';
import { guildCommand, type Command } from './types.js';

const data = guildCommand('status', 'Show your transfers, or one transfer in detail').addStringOption((o) =>
  o.setName('transfer').setDescription('Transfer id').setAutocomplete(true),
);

function messageLink(t: StoredTransfer, channelId: string, messageId: string | null): string | null {
  return messageId && t.guild_id ? `https://discord.com/channels/${t.guild_id}/${channelId}/${messageId}` : null;
}

/** Where a file sent from a member's computer comes from, and how much of it the bot has received (the tus offset). */
function sendLine(t: StoredTransfer, transfers: TransferRunner): string | null {
  if (t.source.kind !== 'send') return null;
  const received = t.status === 'complete' ? t.source.size : transfers.receivedBytes(t.id);
  const from = `sent from <@${t.owner_id}>'s computer`;
  return received === null ? from : `${from} · received ${formatMiB(received)} of ${formatMiB(t.source.size)}`;
}

function describeTransfer(t: StoredTransfer, transfers: TransferRunner): string {
  const size = t.file_size ?? 0;
  const fraction = fractionDone(t);
  const waiting = transfers.waiting(t.id);
  const lines = [
    `**${t.file_name}** · \`${t.id}\` · **${t.status}**${waiting ? ` · ${WAITING_FOR_SENDER}` : ''}`,
    `\`${progressBar(fraction)}\` ${(fraction * 100).toFixed(1)}%`,
    `parts ${t.completed_chunks.length}/${t.total_chunks ?? '?'} · ${(t.bytes_done / MIB).toFixed(1)} of ${(size / MIB).toFixed(1)} MiB · part size ${(t.chunk_size_bytes / MIB).toFixed(2)} MiB`,
  ];
  const from = sendLine(t, transfers);
  if (from) lines.push(from);
  const speed = waiting ? null : rateLine(t, transfers.throughput(t.id));
  if (speed) lines.push(`throughput ${speed}`);
  lines.push(`retries so far: ${t.retries}`);
  const lastNote = t.notes.at(-1);
  if (lastNote) lines.push(`last note: ${lastNote.slice(0, 400)}`);
  const progress = messageLink(t, progressChannelId(t), t.progress_message_id);
  const manifest = messageLink(t, manifestChannelId(t), t.manifest_message_id);
  if (progress) lines.push(`progress: ${progress}`);
  if (manifest) lines.push(`manifest: ${manifest}`);
  return lines.join('\n');
}

export default {
  data,
  async execute(interaction, ctx) {
    const id = interaction.options.getString('transfer')?.trim();
    if (id) {
      const transfer = visibleTransfer(interaction, ctx, id);
      await interaction.reply({ content: fitMessage(describeTransfer(transfer, ctx.transfers)), flags: MessageFlags.Ephemeral });
      return;
    }
    const mine = ctx.store
      .summaries()
      .filter((t) => t.owner_id === interaction.user.id)
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
      .slice(0, 15);
    const content =
      mine.length === 0
        ? 'You have no transfers. Start one with `/split`.'
        : mine
            .map((t) => {
              const status = ctx.transfers.waiting(t.id) ? `${t.status} (${WAITING_FOR_SENDER})` : t.status;
              return `\`${t.id}\` ${t.file_name} · ${status} · ${t.parts_done}/${t.total_chunks ?? '?'} parts`;
            })
            .join('\n');
    await interaction.reply({ content: fitMessage(content), flags: MessageFlags.Ephemeral });
  },
  autocomplete: autocompleteTransfers,
} satisfies Command;

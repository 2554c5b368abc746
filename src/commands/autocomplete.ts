/** Autocomplete of transfer ids shared by /status, /cancel and /resume. */
import type { AutocompleteInteraction } from 'discord.js';
import { canSeeTransfer } from '../discord/permissions.js';
import type { TransferStatus } from '../store/schema.js';
import type { TransferSummary } from '../store/types.js';
import type { BotContext } from './types.js';

export async function autocompleteTransfers(
  interaction: AutocompleteInteraction,
  ctx: BotContext,
  statuses?: readonly TransferStatus[],
): Promise<void> {
  const query = interaction.options.getFocused().toLowerCase();
  const userId = interaction.user.id;
  const choices = ctx.store
    .summaries()
    .filter((t) => !statuses || statuses.includes(t.status))
    .filter((t) => canSeeTransfer(interaction, t))
    .filter((t) => t.id.includes(query) || t.file_name.toLowerCase().includes(query))
    // The caller's own transfers first, newest first.
    .sort((a, b) => Number(b.owner_id === userId) - Number(a.owner_id === userId) || b.updated_at.localeCompare(a.updated_at))
    .slice(0, 25)
    .map((t) => ({ name: choiceLabel(t), value: t.id }));
  await interaction.respond(choices);
}

function choiceLabel(t: TransferSummary): string {
  const label = `${t.id} · ${t.file_name} · ${t.status}`;
  return label.length > 100 ? `${label.slice(0, 99)}…` : label;
}

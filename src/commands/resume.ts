import { MessageFlags } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { callerOf, canCancel, canStartTransfers } from '../discord/permissions.js';
import { autocompleteTransfers } from './autocomplete.js';
import { visibleTransfer } from './lookup.js';
import { guildCommand, type Command } from './types.js';

const data = guildCommand('resume', 'Resume an interrupted or failed transfer, sending only the missing parts').addStringOption((o) =>
  o.setName('transfer').setDescription('Transfer id').setRequired(true).setAutocomplete(true),
);

export default {
  data,
  async execute(interaction, ctx) {
    const id = interaction.options.getString('transfer', true).trim();
    const transfer = visibleTransfer(interaction, ctx, id);
    const caller = callerOf(interaction);
    if (!canStartTransfers(caller, ctx.config) || !canCancel(caller, transfer.owner_id)) {
      throw new UserError('Only the member who started this transfer, or someone with Manage Messages, may resume it.');
    }
    if (ctx.transfers.isRunning(id)) throw new UserError(`Transfer \`${id}\` is already running.`);
    if (transfer.status !== 'interrupted' && transfer.status !== 'error' && transfer.status !== 'pending') {
      throw new UserError(`Transfer \`${id}\` is ${transfer.status}; only interrupted or failed transfers can be resumed.`);
    }
    const refusal = ctx.store.refusal;
    // It may well pause again at once; say so rather than let the user wonder.
    const disk = refusal
      ? ` The progress file cannot be written right now (${refusal.condition}): it will pause again until it can, then resume by itself.`
      : '';
    await interaction.reply({
      content: fitMessage(
        `Resuming \`${id}\`: checking the ${transfer.completed_chunks.length} part(s) already posted, then sending the rest.${disk}`,
      ),
      flags: MessageFlags.Ephemeral,
    });
    ctx.transfers.start(id);
  },
  async autocomplete(interaction, ctx) {
    await autocompleteTransfers(interaction, ctx, ['interrupted', 'error', 'pending']);
  },
} satisfies Command;

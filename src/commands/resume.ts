import { MessageFlags } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { resumeRefusal } from '../transfer/control.js';
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
    const refused = resumeRefusal(actorOf(callerOf(interaction), ctx.config), transfer, ctx.transfers.isRunning(id));
    if (refused) throw new UserError(refused);
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

import { MessageFlags } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { cancelRefusal } from '../transfer/control.js';
import { ACTIVE_STATUSES } from '../store/state.js';
import { autocompleteTransfers } from './autocomplete.js';
import { visibleTransfer } from './lookup.js';
import { guildCommand, type Command } from './types.js';

const data = guildCommand('cancel', 'Stop a transfer')
  .addStringOption((o) => o.setName('transfer').setDescription('Transfer id').setRequired(true).setAutocomplete(true))
  .addBooleanOption((o) => o.setName('delete_posted').setDescription('Also delete the parts already posted'));

export default {
  data,
  async execute(interaction, ctx) {
    const id = interaction.options.getString('transfer', true).trim();
    const deletePosted = interaction.options.getBoolean('delete_posted') ?? false;
    const transfer = visibleTransfer(interaction, ctx, id);
    const refusal = cancelRefusal(actorOf(callerOf(interaction), ctx.config), transfer);
    if (refusal) throw new UserError(refusal);
    // The reply waits for the in-flight upload to settle: defer to stay inside the 3 s deadline.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const result = await ctx.transfers.cancel(id, { deletePosted });
    const deleted = deletePosted
      ? ` Deleted ${result.deleted} part message(s)${result.deleteFailures ? `, ${result.deleteFailures} could not be deleted` : ''}.`
      : '';
    await interaction.editReply(
      fitMessage(
        `Transfer \`${id}\` cancelled after ${result.transfer.completed_chunks.length}/${result.transfer.total_chunks ?? '?'} parts.${deleted}`,
      ),
    );
  },
  async autocomplete(interaction, ctx) {
    await autocompleteTransfers(interaction, ctx, [...ACTIVE_STATUSES, 'error']);
  },
} satisfies Command;

import { MessageFlags } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { callerOf, canCancel } from '../discord/permissions.js';
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
    if (!canCancel(callerOf(interaction), transfer.owner_id)) {
      throw new UserError('Only the member who started this transfer, or someone with Manage Messages, may cancel it.');
    }
    if (!ACTIVE_STATUSES.includes(transfer.status) && transfer.status !== 'error') {
      throw new UserError(`Transfer \`${id}\` is already ${transfer.status}.`);
    }
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

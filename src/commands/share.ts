/**
 * `/share transfer:<id> [hours] [revoke]` (README, 'Download links'): a download link for a complete
 * transfer that anyone can open, or, with `revoke`, the end of every link given out for it
 * (the progress message's Download button included: it is taken off).
 * Ephemeral; the owner or a member with Manage Messages.
 */
import { MessageFlags } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { shareRefusal } from '../transfer/control.js';
import { autocompleteTransfers } from './autocomplete.js';
import { visibleTransfer } from './lookup.js';
import { guildCommand, type Command } from './types.js';

const DEFAULT_HOURS = 24;

const data = guildCommand('share', 'A download link for a complete transfer that anyone can open')
  .addStringOption((o) => o.setName('transfer').setDescription('Transfer id').setRequired(true).setAutocomplete(true))
  .addIntegerOption((o) => o.setName('hours').setDescription(`How long the link works (default ${DEFAULT_HOURS})`).setMinValue(1))
  .addBooleanOption((o) => o.setName('revoke').setDescription('End every link given out for this transfer instead'));

export default {
  data,
  async execute(interaction, ctx) {
    const id = interaction.options.getString('transfer', true).trim();
    const transfer = visibleTransfer(interaction, ctx, id);
    const refusal = shareRefusal(actorOf(callerOf(interaction), ctx.config), transfer);
    if (refusal) throw new UserError(refusal);
    if (!ctx.web) {
      throw new UserError(
        'Download links need the web page, which is off on this bot. Its operator turns it on by setting WEB_PORT (see the README).',
      );
    }
    if (interaction.options.getBoolean('revoke')) {
      await ctx.store.update(id, (t) => {
        t.share_generation += 1;
        t.notes.push(`download links revoked at ${new Date().toISOString()} by ${interaction.user.id}`);
        // The progress message's Download button goes too: its end is shown again, now without one
        // (recorded, so a stop before that edit leaves it to the next start).
        if (t.progress_message_id !== null) t.progress_edit_landed = false;
      });
      ctx.log.info({ event: 'share_revoked', transfer_id: id, user_id: interaction.user.id }, 'download links revoked');
      await interaction.reply({ content: `Every download link given out for \`${id}\` has stopped working.`, flags: MessageFlags.Ephemeral });
      await ctx.transfers.showMissedEndStates().catch((error: unknown) => {
        ctx.log.warn({ err: error, transfer_id: id }, 'could not take the Download button off the progress message; the next start will');
      });
      return;
    }
    const max = ctx.config.SHARE_MAX_HOURS;
    const hours = interaction.options.getInteger('hours') ?? Math.min(DEFAULT_HOURS, max);
    if (hours < 1 || hours > max) throw new UserError(`\`hours\` must be between 1 and ${max} (SHARE_MAX_HOURS).`);
    const { url, expiresAt } = ctx.web.shareLink(transfer, hours);
    ctx.log.info({ event: 'share_link', transfer_id: id, user_id: interaction.user.id, hours }, 'download link made');
    await interaction.reply({
      content: fitMessage(
        `Download link for **${transfer.file_name}**, valid ${hours} h (until <t:${Math.floor(expiresAt / 1000)}:f>); anyone with it can download the file: ${url}`,
      ),
      flags: MessageFlags.Ephemeral,
    });
  },
  async autocomplete(interaction, ctx) {
    await autocompleteTransfers(interaction, ctx, ['complete']);
  },
} satisfies Command;

/**
 * `/send`: a personal upload link, ephemeral (README, 'Sending from your own computer'). The
 * checks of `/split` run first (who may start transfers, the member's and the bot's
 * permissions in the target channel, the part size, the recipient key); the transfer itself
 * is recorded when the upload starts, where MAX_ACTIVE_TRANSFERS is counted.
 */
import { MessageFlags } from 'discord.js';
import { transferRecipients } from '../crypto/age.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { formatMiB } from '../transfer/plan.js';
import { channelOption, checkCanStart, chunkSizeOption, recipientOption, requestedChunkSize } from './split.js';
import { guildCommand, type Command } from './types.js';

const data = guildCommand('send', 'A personal link to send a file from your own computer (browser or CLI)')
  .addChannelOption(channelOption)
  .addIntegerOption(chunkSizeOption)
  .addStringOption(recipientOption);

export default {
  data,
  async execute(interaction, ctx) {
    if (!ctx.web) {
      await interaction.reply({
        content:
          'Sending from your own computer needs the web page, which is off on this bot. Its operator turns it on by setting WEB_PORT (see the README, "Sending from your own computer").',
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    const target = checkCanStart(interaction, ctx);
    const chunkSize = requestedChunkSize(interaction, ctx);
    const asked = interaction.options.getString('recipient');
    const recipients = await transferRecipients(ctx.config.AGE_RECIPIENTS, asked === null ? [] : [asked]);
    const link = ctx.web.sendLink(actorOf(callerOf(interaction), ctx.config), target.guildId, {
      channelId: target.channelId,
      chunkSize,
      attachmentSizeLimit: interaction.attachmentSizeLimit > 0 ? interaction.attachmentSizeLimit : null,
      recipients,
    });
    const minutes = ctx.config.WEB_LINK_TTL_MINUTES;
    const sealed = recipients.length > 0 ? ' The parts will be encrypted with age.' : '';
    await interaction.reply({
      content:
        `Your upload link to <#${target.channelId}> (parts of ${formatMiB(chunkSize)}; works once, for ${minutes} minute${minutes === 1 ? '' : 's'}; do not share it): ${link}\n` +
        `Open it in a browser, or from a terminal: \`discord-file-splitter send <file> <link>\`.${sealed}`,
      flags: MessageFlags.Ephemeral,
    });
  },
} satisfies Command;

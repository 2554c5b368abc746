/** `/dashboard`: a personal sign-in link to the web page (README, 'The web page'), ephemeral. */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { transferRecipients } from '../crypto/age.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { UserError } from '../errors.js';
import type { SendTarget } from '../send/grant.js';
import { checkCanStart, requestedChunkSize } from './split.js';
import { guildCommand, type BotContext, type Command } from './types.js';

const data = guildCommand('dashboard', 'A personal sign-in link to the web page with your transfers');

/**
 * Where the page's "Send a file" sends: this channel, cut as `/send` without options would,
 * when `/send` here would be allowed (/split's checks); null, and no button, when it would not.
 */
async function sendTargetHere(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<SendTarget | null> {
  try {
    const { channelId } = checkCanStart(interaction, ctx);
    return {
      channelId,
      chunkSize: requestedChunkSize(interaction, ctx),
      attachmentSizeLimit: interaction.attachmentSizeLimit > 0 ? interaction.attachmentSizeLimit : null,
      recipients: await transferRecipients(ctx.config.AGE_RECIPIENTS, []),
    };
  } catch (error) {
    // A refusal of /split here only means no "Send a file": the sign-in link is still given.
    if (error instanceof UserError) return null;
    throw error;
  }
}

export default {
  data,
  async execute(interaction, ctx) {
    if (!ctx.web) {
      await interaction.reply({
        content: 'The web page is off on this bot. Its operator turns it on by setting WEB_PORT (see the README, "The web page").',
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    const send = await sendTargetHere(interaction, ctx);
    const link = ctx.web.signInLink(actorOf(callerOf(interaction), ctx.config), interaction.guildId, send ?? undefined);
    const minutes = ctx.config.WEB_LINK_TTL_MINUTES;
    await interaction.reply({
      content: `Your sign-in link (works once, for ${minutes} minute${minutes === 1 ? '' : 's'}; do not share it): ${link}`,
      flags: MessageFlags.Ephemeral,
    });
  },
} satisfies Command;

/** `/dashboard`: a personal sign-in link to the web page (README, 'The web page'), ephemeral. */
import { MessageFlags } from 'discord.js';
import { actorOf, callerOf } from '../discord/permissions.js';
import { guildCommand, type Command } from './types.js';

const data = guildCommand('dashboard', 'A personal sign-in link to the web page with your transfers');

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
    const link = ctx.web.signInLink(actorOf(callerOf(interaction), ctx.config), interaction.guildId);
    const minutes = ctx.config.WEB_LINK_TTL_MINUTES;
    await interaction.reply({
      content: `Your sign-in link (works once, for ${minutes} minute${minutes === 1 ? '' : 's'}; do not share it): ${link}`,
      flags: MessageFlags.Ephemeral,
    });
  },
} satisfies Command;

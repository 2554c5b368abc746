/** The one error boundary every interaction passes through. */
import { MessageFlags, type Interaction } from 'discord.js';
import { UserError } from '../errors.js';
import { commandsByName } from '../commands/index.js';
import { fitMessage } from './message-text.js';
import type { BotContext } from '../commands/types.js';

export async function routeInteraction(interaction: Interaction, ctx: BotContext): Promise<void> {
  if (interaction.isAutocomplete()) {
    const command = commandsByName.get(interaction.commandName);
    try {
      if (command?.autocomplete) await command.autocomplete(interaction, ctx);
      else await interaction.respond([]);
    } catch (error) {
      ctx.log.warn({ err: error, command: interaction.commandName }, 'autocomplete failed');
    }
    return;
  }
  if (!interaction.isChatInputCommand()) return;
  const command = commandsByName.get(interaction.commandName);
  if (!command) {
    await interaction.reply({ content: `Unknown command \`/${interaction.commandName}\`.`, flags: MessageFlags.Ephemeral });
    return;
  }
  try {
    await command.execute(interaction, ctx);
  } catch (error) {
    const userError = error instanceof UserError;
    if (!userError) ctx.log.error({ err: error, command: interaction.commandName, user_id: interaction.user.id }, 'command failed');
    const content = userError ? fitMessage(error.message) : 'Sorry, something went wrong on the bot\'s side; the operator can find details in its log.';
    try {
      if (interaction.deferred && !interaction.replied) await interaction.editReply({ content });
      else if (interaction.replied) await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
      else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    } catch (replyError) {
      ctx.log.warn({ err: replyError, command: interaction.commandName }, 'could not tell the user about an error');
    }
  }
}

/** The one error boundary every interaction passes through. */
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import { DiskWriteError, UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { commandsByName } from './index.js';
import type { BotContext } from './types.js';

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
    if (error instanceof DiskWriteError) {
      ctx.log.warn(
        { err: error, command: interaction.commandName, user_id: interaction.user.id },
        'command hit a progress file the disk refuses to write',
      );
    } else if (!userError) {
      ctx.log.error({ err: error, command: interaction.commandName, user_id: interaction.user.id }, 'command failed');
    }
    const content = userError
      ? fitMessage(error.message)
      : error instanceof DiskWriteError
        ? diskRefusalMessage(error)
        : "Sorry, something went wrong on the bot's side; the operator can find details in its log.";
    try {
      await tellPrivately(interaction, content);
    } catch (replyError) {
      ctx.log.warn({ err: replyError, command: interaction.commandName }, 'could not tell the user about an error');
    }
  }
}

/**
 * An error is the caller's alone: ephemeral whatever was answered before. A public deferral
 * ("thinking…", as /split and /upload acknowledge before recording) cannot become ephemeral,
 * so the error goes in an ephemeral follow-up and the placeholder is deleted.
 */
async function tellPrivately(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    return;
  }
  if (interaction.deferred && !interaction.replied && interaction.ephemeral === true) {
    await interaction.editReply({ content });
    return;
  }
  // discord.js counts a follow-up as the reply: whether a placeholder stands is known only before it.
  const placeholder = interaction.deferred && !interaction.replied;
  await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
  if (placeholder) await interaction.deleteReply();
}

/** What a user is told when the disk refused to record their command (no host path: it names the condition only). */
function diskRefusalMessage(error: DiskWriteError): string {
  const outcome = error.kept ? 'The change is kept and will be saved once it can be.' : 'Nothing was recorded; please try again later.';
  return `The bot cannot write its progress file right now (${error.condition}). ${outcome}`;
}

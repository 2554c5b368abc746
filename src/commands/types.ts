import type { SlashCommandBuilder as Builder } from '@discordjs/builders';
import { SlashCommandBuilder } from './builders.js';
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Config } from '../config.js';
import type { LogRedactions, Logger } from '../log.js';
import type { ProgressStore } from '../store/types.js';
import type { TransferRunner } from '../transfer/runner.js';
import type { WebPage } from '../web/index.js';

export interface BotContext {
  config: Config;
  store: ProgressStore;
  transfers: TransferRunner;
  log: Logger;
  /** The web page, when WEB_PORT is set. */
  web: Pick<WebPage, 'signInLink' | 'shareLink' | 'sendLink'> | null;
  /** LOG_REDACT_FILENAMES: a command registers the path or URL it was given before using it. */
  redactions: LogRedactions;
}

export interface Command {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
}

/**
 * The builder every command starts from: a server-only command. It is registered with
 * `dm_permission: false`, as it always was; Discord deprecates that for `contexts`, and moving
 * changes what `npm run deploy-commands` sends, which would be a change of its own.
 */
export function guildCommand(name: string, description: string): Builder {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  return new SlashCommandBuilder().setName(name).setDescription(description).setDMPermission(false);
}

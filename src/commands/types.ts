import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Config } from '../config.js';
import type { LogRedactions, Logger } from '../log.js';
import type { ProgressStore } from '../store/types.js';
import type { TransferRunner } from '../transfer/runner.js';

export interface BotContext {
  config: Config;
  store: ProgressStore;
  transfers: TransferRunner;
  log: Logger;
  /** LOG_REDACT_FILENAMES: a command registers the path or URL it was given before using it. */
  redactions: LogRedactions;
}

export interface Command {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
}

/** A transfer named by id in /status, /cancel and /resume, as the caller may see it. */
import type { BaseInteraction } from 'discord.js';
import { UserError } from '../errors.js';
import { quoteInput } from '../discord/message-text.js';
import { canSeeTransfer } from '../discord/permissions.js';
import type { StoredTransfer } from '../store/types.js';
import type { BotContext } from './types.js';

/** An id the caller may not see reads exactly as one that does not exist. */
export function visibleTransfer(interaction: BaseInteraction, ctx: BotContext, id: string): StoredTransfer {
  const transfer = ctx.store.get(id);
  if (!transfer || !canSeeTransfer(interaction, transfer)) {
    throw new UserError(`No transfer ${quoteInput(id)} here. \`/status\` without an id lists yours.`);
  }
  return transfer;
}

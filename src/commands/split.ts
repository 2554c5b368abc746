import path from 'node:path';
import type { SlashCommandChannelOption, SlashCommandIntegerOption, SlashCommandStringOption } from '@discordjs/builders';
import { ChannelType, PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../errors.js';
import { fitMessage } from '../discord/message-text.js';
import { callerOf, canStartTransfers, missingToPost, POSTING_PERMISSIONS, resolvedChannelPermissions } from '../discord/permissions.js';
import { transferRecipients } from '../crypto/age.js';
import { newEncryption, type NewEncryption } from '../transfer/encryption.js';
import { attachmentLimit, chooseChunkSize, formatMiB, MIB } from '../transfer/plan.js';
import { listFiles, resolveLocalSource } from '../transfer/source.js';
import type { NewTransferInput } from '../transfer/runner.js';
import type { Reservation } from '../transfer/slots.js';
import { guildCommand, type BotContext, type Command } from './types.js';

/** The options /split and /upload share. */
export const chunkSizeOption = (o: SlashCommandIntegerOption) =>
  o.setName('chunk_size').setDescription("Part size in MiB (default: the channel's limit)");
export const channelOption = (o: SlashCommandChannelOption) =>
  o
    .setName('channel')
    .setDescription('Where to post the parts (default: here; a forum gets a post)')
    .addChannelTypes(
      ChannelType.GuildText,
      ChannelType.GuildAnnouncement,
      ChannelType.PublicThread,
      ChannelType.PrivateThread,
      ChannelType.GuildForum,
    );
export const recipientOption = (o: SlashCommandStringOption) =>
  o
    .setName('recipient')
    .setDescription('Encrypt with age to this public key (age1…); only its secret key can read the parts')
    .setMinLength(4)
    .setMaxLength(200);

const data = guildCommand('split', "Send a file from the bot's files folder to a channel in verified parts")
  .addStringOption((o) => o.setName('path').setDescription('File path relative to the files folder').setRequired(true).setAutocomplete(true))
  .addIntegerOption(chunkSizeOption)
  .addChannelOption(channelOption)
  .addStringOption(recipientOption);

/** What the bot needs in the target channel (README: permissions to grant). */
const REQUIRED_CHANNEL_PERMISSIONS = [...POSTING_PERMISSIONS, PermissionFlagsBits.ReadMessageHistory];

/** Checks shared by /split and /upload: who asks, and where to. */
export function checkCanStart(interaction: ChatInputCommandInteraction, ctx: BotContext): { channelId: string; guildId: string | null } {
  if (!interaction.inGuild()) throw new UserError('Transfers run in a server channel, not in direct messages.');
  if (!canStartTransfers(callerOf(interaction), ctx.config)) {
    throw new UserError("You are not allowed to start transfers here (ask an admin to add you to the bot's allowed roles or users).");
  }
  const channel = interaction.options.getChannel('channel');
  const channelId = channel?.id ?? interaction.channelId;
  // The member must be able to post there themselves: the bot must not post where they could not.
  const mine = missingToPost(channel ? resolvedChannelPermissions(channel) : interaction.memberPermissions);
  if (mine.length > 0) {
    throw new UserError(`You can't post in <#${channelId}>: you lack ${mine.join(', ')} there. Pick a channel where you may send files.`);
  }
  // Discord tells us the bot's own permissions only for the channel the command came from.
  if (channelId === interaction.channelId) {
    const missing = interaction.appPermissions.missing(REQUIRED_CHANNEL_PERMISSIONS);
    if (missing.length > 0) {
      throw new UserError(`I can't post parts in this channel: I lack ${missing.join(', ')}. Ask an admin to grant them, or pick another channel.`);
    }
  }
  return { channelId, guildId: interaction.guildId };
}

/**
 * Runs `start` holding one of the member's MAX_ACTIVE_TRANSFERS, claimed in the same step as
 * the check, and gives it back however `start` ends: by then the record counts, or nothing does.
 */
export async function withTransferSlot<T>(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  start: (slot: Reservation) => Promise<T>,
): Promise<T> {
  const limit = ctx.config.MAX_ACTIVE_TRANSFERS;
  const slot = ctx.transfers.reserve(interaction.user.id, limit);
  if (!slot) {
    throw new UserError(
      `You already have ${ctx.transfers.activeCount(interaction.user.id)} unfinished transfers (the limit is ${limit}); wait for one to finish or /cancel one.`,
    );
  }
  try {
    return await start(slot);
  } finally {
    slot.release();
  }
}

export function requestedChunkSize(interaction: ChatInputCommandInteraction, ctx: BotContext): number {
  const mib = interaction.options.getInteger('chunk_size');
  const limit = interaction.attachmentSizeLimit;
  try {
    return chooseChunkSize({ requested: mib === null ? undefined : mib * MIB, defaultSize: ctx.config.DEFAULT_CHUNK_SIZE_BYTES, limit });
  } catch (error) {
    const max = attachmentLimit(limit);
    throw new UserError(
      `chunk_size must be a whole number of MiB from 1 to ${Math.floor(max / MIB)} (this channel's attachment limit is ${formatMiB(max)}); got ${mib}.`,
      { cause: error },
    );
  }
}

/**
 * The encryption a new transfer gets (README, 'Encryption'): AGE_RECIPIENTS and the `recipient`
 * option, fresh keys for them; null when there are none. A malformed key is refused here,
 * before anything is recorded.
 */
export async function requestedEncryption(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<NewEncryption | null> {
  const asked = interaction.options.getString('recipient');
  return newEncryption(await transferRecipients(ctx.config.AGE_RECIPIENTS, asked === null ? [] : [asked]));
}

/** The reply's words for how the parts are sealed. */
/** How a started transfer's reply names its size and parts: `3000000 bytes in 1 part of 7.63 MiB`. */
export function sizeInParts(fileSize: number | null, totalChunks: number | null, chunkSize: number): string {
  if (fileSize === null || totalChunks === null) return `size unknown until the end, in parts of ${formatMiB(chunkSize)}`;
  return `${fileSize} bytes in ${totalChunks} part${totalChunks === 1 ? '' : 's'} of ${formatMiB(chunkSize)}`;
}

/** Where a new transfer of this command goes and whose it is, once its slot is reserved. */
export function newTransferInput(
  interaction: ChatInputCommandInteraction,
  slot: Reservation,
  target: { channelId: string; guildId: string | null },
  chunkSize: number,
  encryption: NewEncryption | null,
): NewTransferInput {
  return {
    slot,
    chunkSize,
    attachmentSizeLimit: interaction.attachmentSizeLimit > 0 ? interaction.attachmentSizeLimit : null,
    ownerId: interaction.user.id,
    channelId: target.channelId,
    guildId: target.guildId,
    encryption,
  };
}

export function encryptionNote(encryption: NewEncryption | null): string {
  if (encryption === null) return '';
  const n = encryption.recipients.length;
  return ` Encrypted with age for ${n === 1 ? 'one recipient' : `${n} recipients`}.`;
}

export default {
  data,
  async execute(interaction, ctx) {
    const target = checkCanStart(interaction, ctx);
    const chunkSize = requestedChunkSize(interaction, ctx);
    const encryption = await requestedEncryption(interaction, ctx);
    const requested = interaction.options.getString('path', true);
    ctx.redactions.add(requested, path.basename(requested));
    await withTransferSlot(interaction, ctx, async (slot) => {
      const source = await resolveLocalSource(ctx.config.FILES_ROOT, requested, ctx.config.MAX_FILE_SIZE_BYTES);
      // Every refusal above was answered privately; recording the transfer waits for an fsync,
      // which a busy disk can stretch past Discord's 3 s deadline, so acknowledge first.
      await interaction.deferReply();
      const transfer = await ctx.transfers.createFileTransfer({ ...newTransferInput(interaction, slot, target, chunkSize, encryption), source });
      await interaction.editReply({
        content: fitMessage(
          `Transfer \`${transfer.id}\` started: **${transfer.file_name}**, ${sizeInParts(transfer.file_size, transfer.total_chunks, chunkSize)} ` +
            `to <#${transfer.channel_id}>. ` +
            `Follow it with \`/status transfer:${transfer.id}\`.${encryptionNote(encryption)}`,
        ),
      });
      ctx.transfers.start(transfer.id);
    });
  },
  async autocomplete(interaction, ctx) {
    const files = await listFiles(ctx.config.FILES_ROOT, interaction.options.getFocused());
    await interaction.respond(files.map((f) => ({ name: f, value: f })));
  },
} satisfies Command;

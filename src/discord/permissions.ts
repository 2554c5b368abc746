/**
 * Who may do what (README, 'Commands'). Checked in the bot on every command: Discord's
 * `default_member_permissions` is only a first filter that server admins can change.
 */
import { PermissionFlagsBits, PermissionsBitField, type BaseInteraction, GuildMember } from 'discord.js';
import type { Config } from '../config.js';
import type { TransferSummary } from '../store/types.js';
import type { Actor } from '../transfer/control.js';

export interface Caller {
  userId: string;
  roleIds: string[];
  permissions: bigint;
}

export function callerOf(interaction: BaseInteraction): Caller {
  const member = interaction.member;
  let roleIds: string[] = [];
  if (member instanceof GuildMember) roleIds = [...member.roles.cache.keys()];
  else if (member && Array.isArray(member.roles)) roleIds = member.roles;
  return { userId: interaction.user.id, roleIds, permissions: interaction.memberPermissions?.bitfield ?? 0n };
}

const has = (caller: Caller, flag: bigint) => (caller.permissions & flag) === flag;

export function canStartTransfers(caller: Caller, config: Pick<Config, 'ALLOWED_ROLE_IDS' | 'ALLOWED_USER_IDS'>): boolean {
  if (has(caller, PermissionFlagsBits.Administrator)) return true;
  const listsEmpty = config.ALLOWED_ROLE_IDS.length === 0 && config.ALLOWED_USER_IDS.length === 0;
  if (listsEmpty) return has(caller, PermissionFlagsBits.ManageGuild);
  return config.ALLOWED_USER_IDS.includes(caller.userId) || caller.roleIds.some((r) => config.ALLOWED_ROLE_IDS.includes(r));
}

/** Manage Messages or Administrator: may cancel and resume other members' transfers. */
function mayActOnOthers(caller: Caller): boolean {
  return has(caller, PermissionFlagsBits.ManageMessages) || has(caller, PermissionFlagsBits.Administrator);
}

/** The caller as the transfer control rules (src/transfer/control.ts) see them. */
export function actorOf(caller: Caller, config: Pick<Config, 'ALLOWED_ROLE_IDS' | 'ALLOWED_USER_IDS'>): Actor {
  return { userId: caller.userId, mayStart: canStartTransfers(caller, config), mayActOnOthers: mayActOnOthers(caller) };
}

/** What a member needs in the channel a transfer posts to: what the bot itself needs to post parts there. */
export const POSTING_PERMISSIONS = [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages, PermissionFlagsBits.AttachFiles];

/**
 * The caller's permissions in the channel an option resolved to, as Discord computed them for
 * this interaction (overwrites included): a cached channel's `permissions`, or the raw field.
 */
export function resolvedChannelPermissions(channel: {
  permissions: Readonly<PermissionsBitField> | string | null;
}): Readonly<PermissionsBitField> | null {
  const { permissions } = channel;
  return typeof permissions === 'string' ? new PermissionsBitField(BigInt(permissions)) : permissions;
}

/** The posting permissions that `permissions` lacks, by name (none for an Administrator); all of them when Discord sent none. */
export function missingToPost(permissions: Readonly<PermissionsBitField> | null): string[] {
  return (permissions ?? new PermissionsBitField()).missing(POSTING_PERMISSIONS);
}

/**
 * Whether the caller may see a transfer: their own always, another's only when it posts to a
 * channel they can view. Judged from Discord's data: the interaction's own permissions for the
 * channel it came from, else the guild's roles and that channel's overwrites (GUILD_CREATE).
 */
export function canSeeTransfer(interaction: BaseInteraction, transfer: Pick<TransferSummary, 'owner_id' | 'guild_id' | 'channel_id'>): boolean {
  if (transfer.owner_id === interaction.user.id) return true;
  if (!interaction.inCachedGuild()) return false;
  if (transfer.guild_id !== null && transfer.guild_id !== interaction.guildId) return false;
  // Administrator cannot be taken away by an overwrite.
  if (interaction.memberPermissions.has(PermissionFlagsBits.Administrator)) return true;
  if (transfer.channel_id === interaction.channelId) return interaction.memberPermissions.has(PermissionFlagsBits.ViewChannel);
  const channel = interaction.guild.channels.cache.get(transfer.channel_id);
  return channel?.permissionsFor(interaction.member).has(PermissionFlagsBits.ViewChannel) ?? false;
}

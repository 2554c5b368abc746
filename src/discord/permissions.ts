/**
 * Who may do what (SPEC section 2). Checked in the bot on every command: Discord's
 * `default_member_permissions` is only a first filter that server admins can change.
 */
import { PermissionFlagsBits, type BaseInteraction, GuildMember } from 'discord.js';
import type { Config } from '../config.js';

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

export function canCancel(caller: Caller, ownerId: string): boolean {
  return (
    caller.userId === ownerId ||
    has(caller, PermissionFlagsBits.ManageMessages) ||
    has(caller, PermissionFlagsBits.Administrator)
  );
}

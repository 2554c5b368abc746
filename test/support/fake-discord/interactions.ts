/**
 * Interactions a test sends (`fake.sendInteraction`): the INTERACTION_CREATE Discord would
 * dispatch, with the member's computed permissions, and the handle the test watches the bot's
 * answers through.
 */
import { randomBytes } from 'node:crypto';
import type { Renderers } from './render.js';
import type { FakeState, InteractionState, ThreadState } from './state.js';
import type { FakeChannel, InteractionHandle, InteractionInput, InteractionView } from './types.js';
import { snowflake } from './util.js';

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

export function interactionSender(s: FakeState, r: Renderers) {
  const { messages, interactions, interactionsByToken, guildById, channelById, guilds, guildOf, defaultUser, gateway } = s;
  const { renderAttachment, renderMessage, renderThread, userObject } = r;
  const { channelObject, basePermissions, permissionsIn, botPermissionsIn } = s.shapes;

  function makeHandle(st: InteractionState): InteractionHandle {
    const h: InteractionHandle = {
      id: st.id,
      token: st.token,
      callback: () => st.callback,
      original: () => {
        const m = st.originalId ? messages.get(st.originalId) : undefined;
        if (!m || m.deleted) return undefined;
        const v: InteractionView = { content: m.content, flags: m.flags, embeds: m.embeds, components: m.components };
        if (m.attachments.length) v.attachments = m.attachments.map((a) => renderAttachment(a));
        return v;
      },
      followUps: () =>
        st.followUpIds
          .map((id) => messages.get(id)!)
          .filter((m) => !m.deleted)
          .map(renderMessage),
      ephemeral: () => {
        const m = st.originalId ? messages.get(st.originalId) : undefined;
        if (m) return (m.flags & 64) !== 0;
        return (Number(st.callback?.data?.flags ?? 0) & 64) !== 0;
      },
      waitFor: (pred, timeoutMs = 5000) =>
        new Promise<void>((resolve, reject) => {
          // Set once, below: `cleanup` (defined first) clears it.
          // eslint-disable-next-line prefer-const
          let timer: NodeJS.Timeout | undefined;
          const cleanup = () => {
            if (timer) clearTimeout(timer);
            st.listeners.delete(check);
          };
          function check(): void {
            try {
              if (pred(h)) {
                cleanup();
                resolve();
              }
            } catch (e) {
              cleanup();
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          }
          timer = setTimeout(() => {
            cleanup();
            const seen = {
              callback: st.callback ?? null,
              original: h.original() ?? null,
              followUps: h.followUps().map((m: any) => ({ content: m.content, flags: m.flags, attachments: m.attachments.length })),
            };
            reject(
              new Error(`fake-discord: interaction /${st.name} (${st.id}) condition not met within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`),
            );
          }, timeoutMs);
          st.listeners.add(check);
          check();
        }),
      waitForResponse: async (timeoutMs = 5000) => {
        try {
          await h.waitFor((x) => x.callback() !== undefined, timeoutMs);
        } catch {
          throw new Error(`fake-discord: the bot sent no callback for interaction /${st.name} (${st.id}) within ${timeoutMs} ms`);
        }
        return st.callback!;
      },
    };
    return h;
  }

  /** As Discord: each channel option (a channel, a forum, a thread) resolved as a partial channel with the invoking member's computed permissions there (a thread's are its parent's). */
  function resolvedChannels(options: { type: number; value?: unknown }[], base: bigint, userId: string, roleIds: string[]) {
    const chans: Record<string, unknown> = {};
    for (const o of options) {
      if (o.type !== 7) continue;
      const id = String(o.value);
      const thread = s.threads.get(id);
      const c = channelById.get(thread && !thread.deleted ? thread.parentId : id);
      if (!c || (thread?.deleted ?? false)) continue;
      const permissions = permissionsIn(guildOf(c.id), c, base, userId, roleIds).toString();
      chans[id] = thread
        ? {
            ...pick(renderThread(thread), [
              'id',
              'name',
              'type',
              'parent_id',
              'flags',
              'guild_id',
              'thread_metadata',
              'rate_limit_per_user',
              'last_message_id',
            ]),
            permissions,
          }
        : {
            id: c.id,
            name: c.name,
            type: c.type ?? 0,
            permissions,
            parent_id: null,
            flags: 0,
            guild_id: guildOf(c.id).id,
            nsfw: false,
            position: guildOf(c.id).channels.indexOf(c),
            rate_limit_per_user: 0,
            topic: null,
            last_message_id: null,
          };
    }
    return Object.keys(chans).length ? { channels: chans } : undefined;
  }

  /** Where the interaction comes from: a channel, or a live thread (whose permissions are its parent's). */
  function channelOf(i: InteractionInput): { channel: FakeChannel; thread: ThreadState | undefined } {
    if (s.lifecycle.stopped) throw new Error('fake-discord: stopped');
    const asked = i.guildId === undefined ? undefined : guildById.get(i.guildId);
    if (i.guildId !== undefined && !asked) throw new Error(`fake-discord: unknown guild ${i.guildId}`);
    const channelId = i.channelId ?? (asked ?? guilds[0]!).channels[0]!.id;
    const thread = s.threads.get(channelId);
    const live = thread && !thread.deleted ? thread : undefined;
    const channel = channelById.get(live ? live.parentId : channelId);
    if (!channel) throw new Error(`fake-discord: unknown channel ${channelId}`);
    if (asked && asked !== guildOf(channelId)) throw new Error(`fake-discord: channel ${channelId} is not in guild ${asked.id}`);
    return { channel, thread: live };
  }

  // Async, as the public API has it: a refusal rejects.
  return async function sendInteraction(i: InteractionInput): Promise<InteractionHandle> {
    const { channel, thread } = channelOf(i);
    const channelId = thread?.id ?? channel.id;
    const guild = guildOf(channelId);
    const gid = guild.id;
    const user = {
      id: i.user?.id ?? defaultUser.id,
      username: i.user?.username ?? (i.user ? `user-${i.user.id.slice(-4)}` : defaultUser.username),
    };
    const type = i.type ?? 2;
    const id = snowflake();
    const tok = `aW50ZXJhY3Rpb246${id}:${randomBytes(24).toString('base64url')}`;
    const roleIds = i.roles ?? [];
    const base = i.permissions === undefined ? basePermissions(guild, roleIds) : BigInt(i.permissions);
    const permissions = permissionsIn(guild, channel, base, user.id, roleIds).toString();
    const options = (i.options ?? []).map((o) => ({ ...o }));
    const resolved = i.resolved === undefined ? resolvedChannels(options, base, user.id, roleIds) : i.resolved;
    const st: InteractionState = {
      id,
      token: tok,
      type,
      name: i.name,
      channelId,
      user,
      createdAt: Date.now(),
      followUpIds: [],
      listeners: new Set(),
    };
    interactions.set(id, st);
    interactionsByToken.set(tok, st);
    const cmd = [...(s.guildCommands.get(gid) ?? []), ...s.globalCommands].find((c) => c['name'] === i.name);
    const payload = {
      id,
      application_id: s.applicationId,
      type,
      token: tok,
      version: 1,
      data: {
        id: (cmd?.['id'] as string | undefined) ?? snowflake(),
        type: 1,
        name: i.name,
        options,
        guild_id: gid,
        ...(resolved !== undefined ? { resolved } : {}),
      },
      guild_id: gid,
      guild: { id: gid, locale: 'en-US', features: [] },
      channel: { ...(thread ? renderThread(thread) : channelObject(guild, channel)), permissions },
      channel_id: channelId,
      member: {
        user: userObject(user),
        roles: roleIds,
        permissions,
        joined_at: s.startedAt,
        premium_since: null,
        deaf: false,
        mute: false,
        pending: false,
        nick: null,
        avatar: null,
        flags: 0,
        communication_disabled_until: null,
      },
      app_permissions: String(i.appPermissions ?? botPermissionsIn(guild, channel)),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      entitlement_sku_ids: [],
      authorizing_integration_owners: { '0': gid },
      attachment_size_limit: i.attachmentSizeLimit ?? s.attachmentSizeLimit,
      context: 0,
    };
    // As Discord: only to the session of the guild's shard.
    const n = gateway.dispatch('INTERACTION_CREATE', payload, undefined, gid);
    if (n === 0)
      throw new Error(
        `fake-discord: no identified gateway session for guild ${gid} to send the interaction to (is the client, or that guild's shard, logged in?)`,
      );
    return makeHandle(st);
  };
}

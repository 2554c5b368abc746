/** Routes about the application and where it lives: gateway, users, the application, commands, guilds and channels. */
import type { GuildState } from './guilds.js';
import { err, fieldError, HttpError, type Ctx } from './http.js';
import type { RouteDeps } from './routes.js';
import { snowflake } from './util.js';

export function appRoutes({ s, r, h, m, route }: RouteDeps): void {
  const { send, body } = h;
  const { applicationId, botUserId, defaultUser, guilds, globalCommands, guildCommands, guildById, authorObject } = s;
  const { userObject } = r;
  const { channelObject, guildObject } = s.shapes;

  route('GET', '/gateway', { auth: false }, (ctx) => send(ctx, 200, { url: s.addresses.gatewayUrl }));
  route('GET', '/gateway/bot', {}, (ctx) =>
    send(ctx, 200, {
      url: s.addresses.gatewayUrl,
      shards: s.shardCount,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: s.maxConcurrency },
    }),
  );
  route('GET', '/users/@me', {}, (ctx) => send(ctx, 200, { ...authorObject(), verified: true, mfa_enabled: false, locale: 'en-US' }));
  const applicationObject = () => ({
    id: applicationId,
    name: 'fake-splitter-bot',
    icon: null,
    description: '',
    bot_public: false,
    bot_require_code_grant: false,
    flags: 0,
    verify_key: 'f'.repeat(64),
    team: null,
    owner: userObject(defaultUser),
    bot: authorObject(),
    approximate_guild_count: guilds.length,
  });
  route('GET', '/applications/@me', {}, (ctx) => send(ctx, 200, applicationObject()));
  route('GET', '/oauth2/applications/@me', {}, (ctx) => send(ctx, 200, applicationObject()));

  // Commands
  function normalizeCommand(c: Record<string, any>, gid: string | null, prev?: Record<string, unknown>): Record<string, unknown> {
    return {
      id: prev?.['id'] ?? snowflake(),
      application_id: applicationId,
      version: snowflake(),
      default_member_permissions: c['default_member_permissions'] ?? null,
      type: c['type'] ?? 1,
      name: c['name'],
      name_localizations: c['name_localizations'] ?? null,
      description: c['description'] ?? '',
      description_localizations: c['description_localizations'] ?? null,
      options: c['options'] ?? [],
      dm_permission: c['dm_permission'] ?? true,
      contexts: c['contexts'] ?? null,
      integration_types: c['integration_types'] ?? [0],
      nsfw: c['nsfw'] ?? false,
      ...(gid ? { guild_id: gid } : {}),
    };
  }
  function commandList(gid: string | null): Record<string, unknown>[] {
    if (!gid) return globalCommands;
    let l = guildCommands.get(gid);
    if (!l) guildCommands.set(gid, (l = []));
    return l;
  }
  async function putCommands(ctx: Ctx, gid: string | null): Promise<void> {
    if (ctx.params['app'] !== applicationId) throw new HttpError(403, { message: 'Missing Access', code: 50001 });
    const b = await body(ctx);
    const payload: unknown = b.kind === 'json' ? b.json : m.checkBodyResult(b).payload;
    if (!Array.isArray(payload)) throw err.invalidForm(fieldError('BASE_TYPE_BAD_TYPE', 'Must be an array.'));
    const list = commandList(gid);
    const next = (payload as Record<string, any>[]).map((c) =>
      normalizeCommand(
        c,
        gid,
        list.find((p) => p['name'] === c['name']),
      ),
    );
    list.splice(0, list.length, ...next);
    send(ctx, 200, next);
  }
  async function postCommand(ctx: Ctx, gid: string | null): Promise<void> {
    if (ctx.params['app'] !== applicationId) throw new HttpError(403, { message: 'Missing Access', code: 50001 });
    const { payload } = m.checkBodyResult(await body(ctx));
    const list = commandList(gid);
    const i = list.findIndex((p) => p['name'] === payload['name']);
    const cmd = normalizeCommand(payload, gid, i >= 0 ? list[i] : undefined);
    if (i >= 0) list[i] = cmd;
    else list.push(cmd);
    send(ctx, i >= 0 ? 200 : 201, cmd);
  }
  const checkGuild = (gid: string | undefined): GuildState => {
    const guild = gid === undefined ? undefined : guildById.get(gid);
    if (!guild) throw err.unknownGuild();
    return guild;
  };
  route('PUT', '/applications/:app/commands', { major: 'app' }, (ctx) => putCommands(ctx, null));
  route('GET', '/applications/:app/commands', { major: 'app' }, (ctx) => send(ctx, 200, commandList(null)));
  route('POST', '/applications/:app/commands', { major: 'app' }, (ctx) => postCommand(ctx, null));
  route(
    'PUT',
    '/applications/:app/guilds/:guild/commands',
    { major: 'guild' },
    (ctx) => (checkGuild(ctx.params['guild']), putCommands(ctx, ctx.params['guild']!)),
  );
  route('GET', '/applications/:app/guilds/:guild/commands', { major: 'guild' }, (ctx) => {
    checkGuild(ctx.params['guild']);
    send(ctx, 200, commandList(ctx.params['guild']!));
  });
  route(
    'POST',
    '/applications/:app/guilds/:guild/commands',
    { major: 'guild' },
    (ctx) => (checkGuild(ctx.params['guild']), postCommand(ctx, ctx.params['guild']!)),
  );

  // Guild / channels
  route('GET', '/guilds/:guild', { major: 'guild' }, (ctx) => {
    send(ctx, 200, guildObject(checkGuild(ctx.params['guild'])));
  });
  route('GET', '/guilds/:guild/channels', { major: 'guild' }, (ctx) => {
    const guild = checkGuild(ctx.params['guild']);
    send(
      ctx,
      200,
      guild.channels.map((c) => channelObject(guild, c)),
    );
  });
  route('GET', '/guilds/:guild/members/:user', { major: 'guild' }, (ctx) => {
    const guild = checkGuild(ctx.params['guild']);
    const uid = ctx.params['user'];
    if (uid === botUserId)
      return send(ctx, 200, { user: authorObject(), roles: [guild.botRoleId], joined_at: s.startedAt, deaf: false, mute: false, flags: 0 });
    if (uid === defaultUser.id)
      return send(ctx, 200, { user: userObject(defaultUser), roles: [], joined_at: s.startedAt, deaf: false, mute: false, flags: 0 });
    throw new HttpError(404, { message: 'Unknown Member', code: 10007 });
  });
}

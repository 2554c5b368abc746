/** Registers the slash commands (guild-scoped with DEV_GUILD_ID); `npm run deploy-commands` runs src/deploy-commands.ts. */
import { REST, Routes, type RESTGetCurrentApplicationResult, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { loadConfig } from '../config.js';
import { commands } from './index.js';

export async function deployCommands(env: NodeJS.ProcessEnv): Promise<string> {
  const config = loadConfig(env, { requireToken: true });
  const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN ?? '');
  const app = (await rest.get(Routes.currentApplication())) as RESTGetCurrentApplicationResult;
  const body = commands.map((c) => c.data.toJSON());
  const route = config.DEV_GUILD_ID ? Routes.applicationGuildCommands(app.id, config.DEV_GUILD_ID) : Routes.applicationCommands(app.id);
  const saved = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return `Registered ${saved.length} commands ${config.DEV_GUILD_ID ? `in guild ${config.DEV_GUILD_ID}` : 'globally (may take up to an hour to show)'}: ${body.map((c) => `/${c.name}`).join(' ')}`;
}

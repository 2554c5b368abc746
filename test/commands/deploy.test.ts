import { readFile } from 'node:fs/promises';
import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { deployCommands } from '../../src/commands/deploy.js';

describe('npm run deploy-commands', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await startFakeDiscord();
  });
  afterAll(async () => {
    await fake.stop();
  });

  const names = (commands: unknown[]) => commands.map((c) => (c as { name: string }).name).sort();

  it('GIVEN DEV_GUILD_ID THEN the eight commands are registered in that guild only', async () => {
    const message = await deployCommands({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, DEV_GUILD_ID: fake.guildId });
    expect(message).toMatch(/Registered 8 commands in guild/);
    expect(names(fake.commands(fake.guildId))).toEqual(['cancel', 'dashboard', 'resume', 'send', 'share', 'split', 'status', 'upload']);
    expect(fake.commands()).toEqual([]);
  });

  it('GIVEN no DEV_GUILD_ID THEN they are registered globally, with their options', async () => {
    await deployCommands({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl });
    const split = fake.commands().find((c) => (c as { name: string }).name === 'split') as {
      options: { name: string; required?: boolean; autocomplete?: boolean }[];
    };
    expect(split.options.map((o) => o.name)).toEqual(['path', 'chunk_size', 'channel', 'recipient']);
    expect(split.options[0]).toMatchObject({ required: true, autocomplete: true });
  });

  it('GIVEN every command THEN the JSON sent for it is exactly the recorded one (test/fixtures/slash-commands.json)', async () => {
    const put = vi.spyOn(REST.prototype, 'put');
    try {
      await deployCommands({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, DEV_GUILD_ID: fake.guildId });
      expect(put).toHaveBeenCalledTimes(1);
      const sent = `${JSON.stringify(put.mock.calls[0]?.[1]?.body, null, 2)}\n`;
      expect(sent).toBe(await readFile(new URL('../fixtures/slash-commands.json', import.meta.url), 'utf8'));
    } finally {
      put.mockRestore();
    }
  });

  it('GIVEN no token THEN it refuses before calling Discord', async () => {
    const before = fake.requests.length;
    await expect(deployCommands({ DISCORD_API_URL: fake.apiUrl })).rejects.toThrow(/DISCORD_TOKEN/);
    expect(fake.requests.length).toBe(before);
  });
});

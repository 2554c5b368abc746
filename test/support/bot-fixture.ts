/** A fake Discord plus the bot as its own process, in a temp directory, for end-to-end tests. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeDiscord } from './fake-discord/index.js';
import type { FakeDiscord, FakeDiscordOptions, InteractionHandle, InteractionInput } from './fake-discord/types.js';
import { startBotProcess, type BotProcess } from './bot-process.js';
import { progressReader, type ProgressReader } from './progress-file.js';

export const PERMISSIONS = {
  ADMINISTRATOR: 1n << 3n,
  MANAGE_GUILD: 1n << 5n,
  MANAGE_MESSAGES: 1n << 13n,
  MEMBER: (1n << 10n) | (1n << 11n) | (1n << 15n) | (1n << 16n), // view, send, attach, history
} as const;

export interface BotFixture extends ProgressReader {
  fake: FakeDiscord;
  bot: BotProcess;
  work: string;
  filesRoot: string;
  progressPath: string;
  env: Record<string, string>;
  /** Sends an interaction and waits for the bot's first answer. */
  command(input: InteractionInput): Promise<InteractionHandle>;
  /** `/split` as an administrator; resolves with the transfer id from the reply. */
  split(relPath: string, extra?: Partial<InteractionInput> & { chunkSizeMiB?: number }): Promise<string>;
  restartBot(env?: Record<string, string>): Promise<BotProcess>;
  stop(): Promise<void>;
}

export interface BotFixtureOptions {
  fake?: FakeDiscordOptions;
  env?: Record<string, string>;
  /** Where the progress file lives (default: in the fixture's temp directory). */
  progressPath?: string;
  /** A built entry (`dist/index.js`) run by plain node, as `npm start` does; default: the sources through tsx. */
  entry?: string;
}

export async function startBotFixture(options: BotFixtureOptions = {}): Promise<BotFixture> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-bot-'));
  const filesRoot = path.join(work, 'files');
  await fs.mkdir(filesRoot);
  const progressPath = options.progressPath ?? path.join(work, 'transfer_progress.json');
  const fake = await startFakeDiscord(options.fake);
  const env = botEnv(fake, filesRoot, progressPath, options.env);
  let bot: BotProcess;
  try {
    bot = await startBotProcess({ cwd: work, env, ...(options.entry ? { entry: options.entry } : {}) });
  } catch (error) {
    await fake.stop();
    throw error;
  }

  const reader = progressReader(progressPath);
  const { split, command } = commandsOf(fake);
  const fixture: BotFixture = {
    fake,
    bot,
    work,
    filesRoot,
    progressPath,
    env,
    ...reader,
    command,
    split,
    async restartBot(extraEnv = {}) {
      await fixture.bot.kill('SIGKILL');
      fixture.bot = await startBotProcess({ cwd: work, env: { ...env, ...extraEnv }, ...(options.entry ? { entry: options.entry } : {}) });
      return fixture.bot;
    },
    async stop() {
      await fixture.bot.kill('SIGKILL');
      await fake.stop();
      await fs.rm(work, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The bot's environment in a test: pointed at the fake, quick to edit progress and to retry, and `extra` on top. */
export function botEnv(fake: FakeDiscord, filesRoot: string, progressPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    FILES_ROOT: filesRoot,
    PROGRESS_FILE_PATH: progressPath,
    PROGRESS_EDIT_INTERVAL_MS: '200',
    RETRY_BACKOFF_BASE_MS: '20',
    UPLOAD_TIMEOUT_MS: '10000',
    ...extra,
  };
}

/** The commands a test sends as a member: `command` waits for the bot's first answer, `split` for the transfer id. */
export function commandsOf(fake: FakeDiscord): Pick<BotFixture, 'command' | 'split'> {
  const command = async (input: InteractionInput) => {
    const handle = await fake.sendInteraction(input);
    await handle.waitForResponse(5_000);
    return handle;
  };
  return {
    command,
    async split(relPath, extra = {}) {
      const { chunkSizeMiB, ...rest } = extra;
      const handle = await command({
        name: 'split',
        permissions: PERMISSIONS.ADMINISTRATOR,
        ...rest,
        options: [
          { name: 'path', type: 3, value: relPath },
          ...(chunkSizeMiB === undefined ? [] : [{ name: 'chunk_size', type: 4, value: chunkSizeMiB }]),
          ...(rest.options ?? []),
        ],
      });
      await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
      const content = handle.original()?.content ?? '';
      const id = /`(upload_[a-z0-9]+)`/.exec(content)?.[1];
      if (!id) throw new Error(`/split did not start a transfer: ${content}`);
      return id;
    },
  };
}

/** Log lines at error level or above, other than those a test expects. */
export function unexpectedErrors(bot: BotProcess, allow: RegExp[] = []): string[] {
  return bot.logs.filter((l) => l.level >= 50 && !allow.some((re) => re.test(l.msg))).map((l) => JSON.stringify(l));
}

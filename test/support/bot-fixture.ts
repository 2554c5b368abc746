/** A fake Discord plus the bot as its own process, in a temp directory, for end-to-end tests. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeDiscord } from './fake-discord/index.js';
import type { FakeDiscord, FakeDiscordOptions, InteractionHandle, InteractionInput } from './fake-discord/types.js';
import { startBotProcess, type BotProcess } from './bot-process.js';
import type { ProgressFile, TransferRecord } from '../../src/store/schema.js';

export const PERMISSIONS = {
  ADMINISTRATOR: 1n << 3n,
  MANAGE_GUILD: 1n << 5n,
  MANAGE_MESSAGES: 1n << 13n,
  MEMBER: (1n << 10n) | (1n << 11n) | (1n << 15n) | (1n << 16n), // view, send, attach, history
} as const;

export interface BotFixture {
  fake: FakeDiscord;
  bot: BotProcess;
  work: string;
  filesRoot: string;
  progressPath: string;
  env: Record<string, string>;
  readProgress(): Promise<ProgressFile>;
  transfer(id: string): Promise<TransferRecord>;
  /** Sends an interaction and waits for the bot's first answer. */
  command(input: InteractionInput): Promise<InteractionHandle>;
  /** `/split` as an administrator; resolves with the transfer id from the reply. */
  split(relPath: string, extra?: Partial<InteractionInput> & { chunkSizeMiB?: number }): Promise<string>;
  waitForStatus(id: string, statuses: TransferRecord['status'][], timeoutMs?: number): Promise<TransferRecord>;
  /** Waits until at least `count` parts are recorded (or the transfer ended). */
  waitForParts(id: string, count: number, timeoutMs?: number): Promise<TransferRecord>;
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
  const env = {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    FILES_ROOT: filesRoot,
    PROGRESS_FILE_PATH: progressPath,
    PROGRESS_EDIT_INTERVAL_MS: '200',
    RETRY_BACKOFF_BASE_MS: '20',
    UPLOAD_TIMEOUT_MS: '10000',
    ...options.env,
  };
  let bot: BotProcess;
  try {
    bot = await startBotProcess({ cwd: work, env, ...(options.entry ? { entry: options.entry } : {}) });
  } catch (error) {
    await fake.stop();
    throw error;
  }

  const readProgress = async () => JSON.parse(await fs.readFile(progressPath, 'utf8')) as ProgressFile;
  const transfer = async (id: string) => {
    const t = (await readProgress()).active_transfers.find((x) => x.id === id);
    if (!t) throw new Error(`no transfer ${id} in the progress file`);
    return t;
  };
  const command = async (input: InteractionInput) => {
    const handle = await fake.sendInteraction(input);
    await handle.waitForResponse(5_000);
    return handle;
  };
  const fixture: BotFixture = {
    fake,
    bot,
    work,
    filesRoot,
    progressPath,
    env,
    readProgress,
    transfer,
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
    async waitForStatus(id, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: TransferRecord | undefined;
      while (Date.now() < deadline) {
        try {
          last = await transfer(id);
          if (statuses.includes(last.status)) return last;
        } catch {
          // The file may be between a rename and our read; try again.
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `transfer ${id} did not reach ${statuses.join('/')} within ${timeoutMs} ms; last: ${JSON.stringify(last?.status)} ${JSON.stringify(last?.notes)}`,
      );
    },
    async waitForParts(id, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = await transfer(id);
      while (last.completed_chunks.length < count && (last.status === 'pending' || last.status === 'in_progress') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        last = await transfer(id);
      }
      return last;
    },
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

/** Log lines at error level or above, other than those a test expects. */
export function unexpectedErrors(bot: BotProcess, allow: RegExp[] = []): string[] {
  return bot.logs.filter((l) => l.level >= 50 && !allow.some((re) => re.test(l.msg))).map((l) => JSON.stringify(l));
}

/**
 * README's "Deploying and updating", done for real on a fresh copy of the checkout (its tracked
 * and new files: no node_modules/, no dist/), in a folder whose path has a space: `npm ci`
 * (which compiles), `npm prune --omit=dev`, then `npm run deploy-commands` and `npm start`
 * against the fake Discord, with no dev dependency left and none reachable through PATH; and
 * `npm ci --omit=dev`, which can only keep a dist/ compiled from the same sources.
 * npm installs from its cache where it can (`--prefer-offline`): the `npm ci` or `npm install`
 * run before `npm test` (CI, the quick start) fills it; what the cache lacks (a dependency added
 * since that install) comes from the registry.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { PERMISSIONS } from '../support/bot-fixture.js';
import { exitWithin, REPO_ROOT, startBotProcess } from '../support/bot-process.js';

const INSTALL_TIMEOUT_MS = 240_000;
/** A stack trace's frame: what a missing or stale build must not answer with. */
const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m;

/** The environment npm gets: no node_modules/.bin of this checkout on PATH, the cache first. */
function npmEnv(): Record<string, string> {
  const PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !dir.split(path.sep).includes('node_modules'))
    .join(path.delimiter);
  return {
    PATH,
    HOME: process.env.HOME ?? '',
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

function run(cwd: string, command: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: npmEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
}

/** The checkout as a clone of it would be, with the changes not committed yet. */
async function copyCheckout(to: string): Promise<void> {
  const { stdout } = await promisify(execFile)('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    const target = path.join(to, file);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(path.join(REPO_ROOT, file), target).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted, not yet committed
    });
  }
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );

describe('a production install from a fresh clone', () => {
  let work: string;
  let bot: string;
  let fake: FakeDiscord;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-install-'));
    bot = path.join(work, 'my bot');
    await copyCheckout(bot);
    fake = await startFakeDiscord();
  });
  afterAll(async () => {
    await fake?.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it(
    'GIVEN no dist/ WHEN npm ci --omit=dev THEN the install fails saying how to install, without a stack trace',
    async () => {
      const result = await run(bot, 'npm', ['ci', '--omit=dev'], INSTALL_TIMEOUT_MS);
      expect(result.code, result.out).not.toBe(0);
      expect(result.out).toMatch(
        /not built yet \(no dist\/index\.js\), and it cannot be compiled here: TypeScript, a dev dependency, is not installed/,
      );
      expect(result.out).toMatch(/`npm ci` .*then .*`npm prune --omit=dev`/);
      expect(result.out).not.toMatch(STACK_FRAME);
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'GIVEN the documented steps (npm ci, npm prune --omit=dev) THEN dist/ is built and no dev dependency is left',
    async () => {
      const install = await run(bot, 'npm', ['ci'], INSTALL_TIMEOUT_MS);
      expect(install.code, install.out).toBe(0);
      expect(await exists(path.join(bot, 'dist/index.js'))).toBe(true);
      const prune = await run(bot, 'npm', ['prune', '--omit=dev'], INSTALL_TIMEOUT_MS);
      expect(prune.code, prune.out).toBe(0);
      for (const dev of ['typescript', 'tsx', 'vitest', 'eslint']) expect(await exists(path.join(bot, 'node_modules', dev)), dev).toBe(false);
      expect(await exists(path.join(bot, 'node_modules/discord.js'))).toBe(true);
    },
    INSTALL_TIMEOUT_MS,
  );

  it('GIVEN that install and a .env THEN npm run deploy-commands registers the commands and the CLI runs', async () => {
    await fs.writeFile(
      path.join(bot, '.env'),
      `DISCORD_TOKEN=${fake.token}\nDISCORD_API_URL=${fake.apiUrl}\nDEV_GUILD_ID=${fake.guildId}\nLOG_LEVEL=debug\n`,
    );
    await fs.mkdir(path.join(bot, 'files'));
    const deploy = await run(bot, 'npm', ['run', 'deploy-commands'], 60_000);
    expect(deploy.code, deploy.out).toBe(0);
    expect(deploy.out).toMatch(/Registered 8 commands in guild/);
    expect(fake.commands(fake.guildId)).toHaveLength(8);
    const cli = await run(bot, 'npx', ['discord-file-splitter', '--help'], 60_000);
    expect(cli.code, cli.out).toBe(0);
    expect(cli.out).toMatch(/usage: discord-file-splitter/);
  });

  it('GIVEN that install THEN npm start connects, answers /status, and stops cleanly on Ctrl-C', async () => {
    const started = await startBotProcess({ cwd: bot, env: npmEnv(), command: ['npm', 'start'], readyTimeoutMs: 60_000 });
    try {
      const handle = await fake.sendInteraction({ name: 'status', permissions: PERMISSIONS.ADMINISTRATOR });
      await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      expect(handle.ephemeral()).toBe(true);
      // A terminal's Ctrl-C reaches npm and the bot, and npm forwards its own: the stop still finishes.
      await started.kill('SIGINT');
      expect(
        started.logs.some((l) => l.msg === 'stopped'),
        started.stderr(),
      ).toBe(true);
      expect(await exists(path.join(bot, 'transfer_progress.lock'))).toBe(false);
    } finally {
      await started.kill('SIGKILL');
    }
  });

  it(
    'GIVEN dist/ compiled from these sources WHEN npm ci --omit=dev THEN the install keeps it and succeeds',
    async () => {
      const result = await run(bot, 'npm', ['ci', '--omit=dev'], INSTALL_TIMEOUT_MS);
      expect(result.code, result.out).toBe(0);
      expect(result.out).toMatch(/dist\/ is already compiled from these sources/);
      expect(await exists(path.join(bot, 'node_modules/typescript'))).toBe(false);
      expect(await exists(path.join(bot, 'dist/index.js'))).toBe(true);
    },
    INSTALL_TIMEOUT_MS,
  );

  it('GIVEN a source changed since the build (a git pull without npm ci) THEN npm start and deploy-commands refuse, saying to build', async () => {
    await fs.appendFile(path.join(bot, 'src/index.ts'), '// changed\n');
    for (const script of ['start', 'deploy-commands']) {
      const result = await run(bot, 'npm', ['run', script], 60_000);
      expect(result.code, result.out).toBe(1);
      expect(result.out).toMatch(/error: dist\/ is older than the sources \(src\/index\.ts changed since it was built\): run `npm run build`/);
      expect(result.out).not.toMatch(STACK_FRAME);
    }
  });

  it('GIVEN no dist/ THEN npm start refuses, saying to build, without a stack trace', async () => {
    await fs.rm(path.join(bot, 'dist'), { recursive: true });
    const started = await startBotProcess({ cwd: bot, env: npmEnv(), command: ['npm', 'start'], waitReady: false });
    expect(await exitWithin(started, 60_000)).toMatchObject({ code: 1 });
    expect(started.stderr()).toMatch(/error: not built yet \(no dist\/index\.js\): run `npm run build`/);
    expect(started.stderr()).not.toMatch(STACK_FRAME);
    await started.kill('SIGKILL');
  });
});

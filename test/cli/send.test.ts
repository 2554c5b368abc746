/**
 * `discord-file-splitter send <file> <upload link>` as a member runs it: the bot as its own
 * process against the fake Discord with the web page on, `/send` for a link, and the CLI as
 * a child process. To be mid-upload for sure, the fake holds every message create: posting
 * cannot catch up, so the bot stops reading once STAGING_PER_UPLOAD_BYTES wait, and the
 * upload cannot end until the test releases them.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256File } from '../support/hash.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { newIdentity } from '../support/age.js';
import { writeSeededFile } from '../support/random-file.js';
import { sendLink } from '../support/send.js';
import { tempDir } from '../support/temp.js';
import { stagingLeft } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';
import { runCli, startCli, type RunningCli } from './run-cli.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const CHUNK_1_MIB = { options: [{ name: 'chunk_size', type: 4, value: 1 }] };
// Room for a message's worth of 1 MiB parts (MAX_CHUNKS_PER_MESSAGE 3) and the one read after it:
// the engine sends a message once the part after it arrives, so less would never post at all.
const SLOWED = { STAGING_PER_UPLOAD_BYTES: String(5 * MIB) };

let fx: BotFixture | undefined;
const running: RunningCli[] = [];
afterEach(async () => {
  for (const cli of running.splice(0)) cli.child.kill('SIGKILL');
  await fx?.stop();
  fx = undefined;
});

async function startWithWeb(env: Record<string, string> = {}): Promise<BotFixture> {
  fx = await startBotFixture({ env: { WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, ...env } });
  return fx;
}

/** A seeded file under the bot's work folder, as on the member's computer. */
async function memberFile(bot: BotFixture, name: string, size: number, seed: number): Promise<string> {
  const file = path.join(bot.work, 'home', name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeSeededFile(file, size, seed);
  return file;
}

/** The CLI's own state folder, never the developer's. */
async function cliEnv(): Promise<Record<string, string>> {
  const home = await tempDir('dfs-send-home-');
  return { HOME: home, XDG_STATE_HOME: path.join(home, 'state') };
}

const sendsDir = (env: Record<string, string>) => path.join(env.XDG_STATE_HOME!, 'discord-file-splitter', 'sends');

/** Bytes staged for upload `id` (its segments in STAGING_DIR). */
async function stagedBytes(bot: BotFixture, id: string): Promise<number> {
  const dir = path.join(bot.work, 'staging', id);
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((n) =>
      stat(path.join(dir, n)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** Starts `send` and waits until the bot has staged at least `bytes` of it; the upload's id. */
async function startHeldSend(
  bot: BotFixture,
  file: string,
  link: string,
  env: Record<string, string>,
  bytes: number,
): Promise<{ cli: RunningCli; id: string }> {
  const cli = startCli(['send', file, link], env);
  running.push(cli);
  const idOf = () => /uploading .* as (upload_\w+)/.exec(cli.stderr())?.[1];
  await waitUntil(() => idOf() !== undefined || cli.child.exitCode !== null, 'the CLI to create its upload', 40_000);
  const id = idOf();
  if (!id) throw new Error(`the CLI did not start an upload: ${cli.stderr()}`);
  let staged = 0;
  const deadline = Date.now() + 40_000;
  while (staged < bytes) {
    if (Date.now() > deadline) throw new Error(`the bot staged ${staged} of ${bytes} bytes of ${id}`);
    await new Promise((r) => setTimeout(r, 50));
    staged = await stagedBytes(bot, id);
  }
  return { cli, id };
}

describe('send: usage', () => {
  it('GIVEN missing arguments, a folder, a missing file or a link that is none THEN exits 2 saying why', async () => {
    const env = await cliEnv();
    const dir = await tempDir();
    const link = 'http://127.0.0.1:9/send?token=abc.def';
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'x');
    const cases: [string[], RegExp][] = [
      [['send'], /send takes a file and an upload link/],
      [['send', dir], /send takes a file and an upload link/],
      [['send', dir, link], /is not a regular file/],
      [['send', path.join(dir, 'nope.bin'), link], /no such file/],
      [['send', file, 'not a link'], /the upload link is not a URL/],
      [['send', file, 'http://127.0.0.1:9/dashboard?token=abc.def'], /not an upload link/],
      [['send', file, 'ftp://127.0.0.1:9/send?token=abc.def'], /not an upload link/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).not.toContain('abc.def');
    }
    // Nothing was kept: no link was redeemed.
    expect(await readdir(sendsDir(env)).catch(() => [])).toEqual([]);
  });
});

describe('send: a file from the member computer', () => {
  it(
    'GIVEN /send WHEN the CLI sends a file THEN exits 0 with the manifest sha256 matching, and the link is used up',
    { timeout: 120_000 },
    async () => {
      const bot = await startWithWeb();
      const file = await memberFile(bot, 'holiday video.mp4', 5 * MIB + 123, 31);
      const { link } = await sendLink(bot, CHUNK_1_MIB);
      const env = await cliEnv();
      const result = await runCli(['send', file, link!], env);
      expect(result.stderr).toMatch(/^uploading holiday video\.mp4 \(5243003 bytes\) as upload_\w+$/m);
      expect(result.code, result.stderr).toBe(0);
      const sha = await sha256File(file);
      expect(result.stdout).toContain(`sent holiday_video.mp4 (5243003 bytes, 5.0 MiB) as upload_`);
      expect(result.stdout).toContain(`sha256 ${sha} matches the manifest`);
      // Not a terminal: no progress bar drawn into the log.
      expect(result.stderr).not.toContain('\r');
      expect(result.stderr).not.toContain('\u001b[');
      const id = /as (upload_\w+)/.exec(result.stdout)![1]!;
      const t = await bot.waitForStatus(id, ['complete']);
      expect(t.file_sha256).toBe(sha);
      expect(t.total_chunks).toBe(6);
      // Done: the state (a grant) is gone, and so is the staging.
      expect(await readdir(sendsDir(env))).toEqual([]);
      expect(await stagingLeft(path.join(bot.work, 'staging'))).toEqual([]);

      // The link was single use: a second send with it, now without a state, is refused.
      const again = await runCli(['send', file, link!], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(
        /this upload link was already used, has expired, or was not made by this bot: run \/send in Discord for a new link/,
      );
      // A forged one too, and neither is echoed.
      const forged = link!.replace(/token=[\w-]+\./, 'token=AAAA.');
      const bad = await runCli(['send', file, forged], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/already used, has expired, or was not made by this bot/);
      expect(again.stderr + bad.stderr).not.toContain('token=');
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN /send with a recipient WHEN the CLI sends a file THEN exits 0 saying the sha256 it could not compare, and the join command it prints rebuilds the file',
    { timeout: 120_000 },
    async () => {
      const bot = await startWithWeb();
      const file = await memberFile(bot, 'secret.bin', 2 * MIB + 7, 35);
      const key = await newIdentity(await tempDir());
      const { link } = await sendLink(bot, { options: [...CHUNK_1_MIB.options, { name: 'recipient', type: 3, value: key.recipient }] });
      const env = await cliEnv();
      const result = await runCli(['send', file, link!], env);
      expect(result.code, result.stderr).toBe(0);
      const id = /as (upload_\w+)/.exec(result.stdout)![1]!;
      const t = await bot.waitForStatus(id, ['complete']);
      expect(result.stdout).toContain(
        `sent secret.bin.age (2097159 bytes, 2.0 MiB before encryption) as ${id}, ${t.total_chunks} part(s), encrypted`,
      );
      expect(result.stdout).toContain(`sha256 ${await sha256File(file)} (this file's; the manifest's, ${t.file_sha256}, is of the age file`);
      // The command it prints rebuilds the file from Discord: run it, the plaintext is the file.
      const join = /join --channel (\d+) --message (\d+) --identity KEYFILE/.exec(result.stdout);
      expect(join, result.stdout).not.toBeNull();
      const out = path.join(await tempDir(), 'rebuilt.bin');
      const joined = await runCli(['join', '--channel', join![1]!, '--message', join![2]!, '--identity', key.file, '--out', out], {
        ...env,
        DISCORD_TOKEN: bot.fake.token,
        DISCORD_API_URL: bot.fake.apiUrl,
      });
      expect(joined.code, joined.stderr).toBe(0);
      expect(await sha256File(out)).toBe(await sha256File(file));
      expect(await readdir(sendsDir(env))).toEqual([]);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN a send killed mid-upload WHEN it is run again with the same file and link THEN it continues from the offset the bot has and exits 0',
    { timeout: 150_000 },
    async () => {
      const bot = await startWithWeb(SLOWED);
      const file = await memberFile(bot, 'big.bin', 10 * MIB + 5, 32);
      const { link } = await sendLink(bot, CHUNK_1_MIB);
      const env = await cliEnv();
      const held = holdAfterParts(bot.fake, 0);
      const first = await startHeldSend(bot, file, link!, env, MIB);
      // The state keeps a grant: only its owner may read it.
      const [stateName] = await readdir(sendsDir(env));
      expect((await stat(sendsDir(env))).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(sendsDir(env), stateName!))).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(path.join(sendsDir(env), stateName!), 'utf8'))).toMatchObject({
        upload_url: expect.stringContaining(first.id),
      });
      first.cli.child.kill('SIGKILL');
      await first.cli.exited;
      held.release();

      const second = await runCli(['send', file, link!], env);
      expect(second.code, second.stderr).toBe(0);
      const from = Number(new RegExp(`continuing ${first.id} from byte (\\d+) of ${10 * MIB + 5}`).exec(second.stderr)?.[1]);
      expect(from).toBeGreaterThanOrEqual(MIB);
      // No new upload: the one the first run began went on.
      expect(second.stderr).not.toMatch(/^uploading /m);
      expect(second.stdout).toContain(`as ${first.id}`);
      expect(second.stdout).toContain(`sha256 ${await sha256File(file)} matches the manifest`);
      const t = await bot.waitForStatus(first.id, ['complete']);
      expect(t.total_chunks).toBe(11);
      // Each part posted once.
      expect(
        bot.fake
          .messages()
          .flatMap((m) => m.attachments.map((a) => a.filename))
          .filter((n) => !n.endsWith('.manifest.json'))
          .sort(),
      ).toEqual(t.parts.map((p) => p.name).sort());
      expect(await readdir(sendsDir(env))).toEqual([]);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN a send stopped with Ctrl-C WHEN the file changed before it is run again THEN exits 1 saying so and sends nothing',
    { timeout: 150_000 },
    async () => {
      const bot = await startWithWeb(SLOWED);
      const file = await memberFile(bot, 'notes.bin', 8 * MIB, 33);
      const { link } = await sendLink(bot, CHUNK_1_MIB);
      const env = await cliEnv();
      const held = holdAfterParts(bot.fake, 0);
      const first = await startHeldSend(bot, file, link!, env, MIB);
      first.cli.child.kill('SIGINT');
      const stopped = await first.cli.exited;
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toMatch(/interrupted: the bot keeps what it received; run the same command again to continue/);
      expect(await readdir(sendsDir(env))).toHaveLength(1); // kept, to go on with

      await writeSeededFile(file, 8 * MIB, 34); // same size, other bytes
      // The bot may still be taking what was on its way when the CLI stopped: a HEAD (what any
      // client asks before going on) ends that request, and says what the bot has.
      const [saved] = await readdir(sendsDir(env));
      const state = JSON.parse(await readFile(path.join(sendsDir(env), saved!), 'utf8')) as { grant: string; upload_url: string };
      const head = await fetch(state.upload_url, { method: 'HEAD', headers: { Authorization: `Bearer ${state.grant}`, 'Tus-Resumable': '1.0.0' } });
      const staged = await stagedBytes(bot, first.id);
      expect(Number(head.headers.get('upload-offset'))).toBe(staged);
      const refused = await runCli(['send', file, link!], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /is not the file an earlier run with this link began to send .*: it was modified, its first MiB differs; nothing was sent/,
      );
      expect(await stagedBytes(bot, first.id)).toBe(staged);
      expect((await bot.readProgress()).active_transfers.filter((t) => t.source.kind === 'send').map((t) => t.id)).toEqual([first.id]);
      held.release();
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});

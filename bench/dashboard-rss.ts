/**
 * `npm run bench:dashboard [-- --size=1024]`: the bot's peak RSS during a /split of a large
 * file (default 1 GiB) with the web page open in a real browser (the list and the transfer's
 * own page, both live), next to the same /split with no page open. The bot runs as deployed
 * (`node dist/index.js`, built first) against the fake Discord; peak RSS is VmHWM.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../test/support/bot-fixture.js';
import { browserSkipReason, launchBrowser } from '../test/support/browser.js';
import { writeSeededFile } from '../test/support/random-file.js';
import { freePort } from '../test/support/ports.js';
import { dashboardLink } from '../test/support/web.js';
import { formatTable, MIB, mibPerSecond, parseVmHWM } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sizeMiB = Number(/--size=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 1024);

async function run(withPage: boolean): Promise<{ seconds: number; rss: number }> {
  const fx: BotFixture = await startBotFixture({
    entry: path.join(ROOT, 'dist/index.js'),
    fake: { retainAttachments: 4 * MIB },
    env: { WEB_PORT: String(await freePort()), LOG_LEVEL: 'info', PROGRESS_EDIT_INTERVAL_MS: '5000' },
  });
  const browser = withPage ? await launchBrowser() : null;
  try {
    await writeSeededFile(path.join(fx.filesRoot, 'big.bin'), sizeMiB * MIB, 7);
    const pages = [];
    if (browser) {
      const context = await browser.newContext();
      const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
      const list = await context.newPage();
      await list.goto(link!);
      pages.push(list, await context.newPage());
    }
    const started = Date.now();
    const id = await fx.split('big.bin', { permissions: PERMISSIONS.ADMINISTRATOR });
    if (pages[1]) await pages[1].goto(new URL(`/transfers/${id}`, pages[0]!.url()).href);
    const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 600_000);
    if (done.status !== 'complete') throw new Error(`the transfer ended ${done.status}: ${done.notes.join('; ')}`);
    const seconds = (Date.now() - started) / 1000;
    const rss = (parseVmHWM(await readFile(`/proc/${fx.bot.child.pid}/status`, 'utf8')) ?? Number.NaN) / MIB;
    return { seconds, rss };
  } finally {
    await browser?.close();
    await fx.stop();
  }
}

const skip = browserSkipReason();
if (skip) {
  console.error(`cannot run: ${skip}`);
  process.exit(1);
}
// `npm run build`: it also records what it compiled, so `npm start` afterwards still runs.
execFileSync(process.execPath, [path.join(ROOT, 'bin/build.js')], { cwd: ROOT, stdio: 'inherit' });
const rows = [];
for (const withPage of [false, true]) {
  const { seconds, rss } = await run(withPage);
  rows.push([
    withPage ? 'web page open (list + transfer)' : 'no web page open',
    seconds.toFixed(2),
    mibPerSecond(sizeMiB * MIB, seconds * 1000).toFixed(1),
    rss.toFixed(1),
  ]);
}
console.log(`/split of ${sizeMiB} MiB at defaults, WEB_PORT set`);
console.log(formatTable(['run', 'wall s', 'MiB/s', 'peak RSS MiB'], rows));

/**
 * `npm run bench -- --send [--sizes=<MiB>] [--sender=<profile>] [--network=<profile>]` (README,
 * 'Sending from your own computer'): a file sent from a member's computer, through tus-js-client
 * in this process, to the bot (dist/index.js) posting it to the fake Discord as it arrives.
 *
 * The sender's link is the `home` profile by default (50 Mbit/s up, 40 ms round trip): a TCP
 * proxy here (test/support/fake-discord/network/link-proxy.ts) in front of the bot's web port,
 * named as the bot's WEB_PUBLIC_URL so the upload link, the tus endpoint and every tus request
 * go through it. The bot's link to Discord is the `server` profile by default, modelled by the
 * fake's process as in bench/network.ts.
 *
 * It measures, from the upload's creation request:
 *   (a) the upload's own time: until tus-js-client has the bot's answer to the last byte,
 *   (b) the time until the transfer is `complete` (the bot's `transfer_complete` line), which
 *       should be at most 1.10 × (a) because parts are posted while the upload goes on,
 *   (c) the peak of the bytes in STAGING_DIR (sampled every 100 ms),
 *   (d) the bot's peak RSS (VmHWM) at the end.
 * Every posted part and the manifest's sha256 are checked against the file, as for /split.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sanitizeName } from '../src/transfer/plan.js';
import { startLinkProxy } from '../test/support/fake-discord/network/link-proxy.js';
import { startBotProcess } from '../test/support/bot-process.js';
import { freePort } from '../test/support/ports.js';
import { redeem, tusUpload } from '../test/support/send.js';
import { FakeProcess } from './fake-process.js';
import type { PostedMessage } from './ipc.js';
import { BUCKET, parseProfile, type Profile } from './profiles.js';
import { formatTable, MIB, mibPerSecond, parseVmHWM, sizeLabel, type Cell } from './stats.js';
import { baselineA, buildBot, BUILT_ENTRY, CHUNK, makeSource, verifyParts, type Api, type Source } from './transfers.js';

const SECRET = 'bench-web-secret-0123456789abcdefghijkl';
const RUN_TIMEOUT_MS = 30 * 60_000;
const SAMPLE_MS = 100;
/** (b) may take this much longer than (a): the posting overlaps the upload. */
const TARGET_RATIO = 1.1;
const TARGET_RSS_MB = 180; // 10^6 bytes, as BENCHMARKS.md's targets

const say = (s: string) => process.stdout.write(`${s}\n`);
const arg = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

export async function runSendBench(args: string[]): Promise<void> {
  const sender = parseProfile(arg(args, 'sender') ?? 'home');
  const discord = parseProfile(arg(args, 'network') ?? 'server');
  const sizeMiB = arg(args, 'sizes');
  const size = sizeMiB ? Number(sizeMiB) * MIB : 1024 * MIB;
  const work = await mkdtemp(path.join(os.tmpdir(), 'dfs-bench-send-'));
  const home = path.join(work, 'home'); // the sender's computer
  await mkdir(home);
  buildBot();
  const fake = FakeProcess.start();
  let failed = false;
  try {
    const api = await fake.call<Api>({
      op: 'start',
      retainBytes: 4 * MIB,
      network: {
        ...(Number.isFinite(discord.bytesPerSecond) || discord.rttMs > 0
          ? { link: { uploadBytesPerSecond: discord.bytesPerSecond, rttMs: discord.rttMs } }
          : {}),
        processingMs: discord.processingMs,
        bucket: BUCKET,
      },
    });
    say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`);
    say(`command: npm run bench -- ${args.join(' ')}`);
    say(
      `\n## send: ${sizeLabel(size)} (${size} bytes) from the sender's link ${describe(sender)} to the bot; the bot's link to Discord ${describe(discord)}`,
    );
    const source = await makeSource(home, size, 2500);
    await baselineA(source); // warms the page cache: the sender's disk is not what is measured
    const ideal = Number.isFinite(sender.bytesPerSecond) ? (size / sender.bytesPerSecond) * 1000 : Number.NaN;
    const r = await runSend(source, sender, work, api, fake);
    const ratio = r.completeMs / r.uploadMs;
    const rows: Cell[][] = [
      ['(a) upload: creation to the last byte acknowledged', r.uploadMs / 1000, mibPerSecond(size, r.uploadMs), ideal / r.uploadMs],
      ['(b) creation to `complete`', r.completeMs / 1000, mibPerSecond(size, r.completeMs), ideal / r.completeMs],
    ];
    say(formatTable(['run', 'wall s', 'MiB/s', '× the sender link'], rows));
    say(`(b) / (a): ${ratio.toFixed(3)} (target: at most ${TARGET_RATIO})`);
    say(
      `(c) peak staging: ${(r.peakStaging / MIB).toFixed(1)} MiB (${r.peakStaging} bytes; parts of ${CHUNK} bytes, STAGING_PER_UPLOAD_BYTES at its default)`,
    );
    say(`(d) bot peak RSS: ${(r.peakRss / MIB).toFixed(1)} MiB, ${(r.peakRss / 1e6).toFixed(1)} MB (target: below ${TARGET_RSS_MB} MB)`);
    say(`messages posted: ${r.messages}; the link alone takes ${(ideal / 1000).toFixed(1)} s for these bytes`);
    if (ratio > TARGET_RATIO || r.peakRss / 1e6 >= TARGET_RSS_MB) say('a target was MISSED');
    await rm(source.file, { force: true });
  } catch (error) {
    failed = true;
    say(`send: FAILED ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await fake.stop();
    await rm(work, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

interface SendResult {
  uploadMs: number;
  completeMs: number;
  peakStaging: number;
  peakRss: number;
  messages: number;
}

async function runSend(source: Source, sender: Profile, work: string, api: Api, fake: FakeProcess): Promise<SendResult> {
  const webPort = await freePort();
  const proxy = await startLinkProxy(webPort, { bytesPerSecond: sender.bytesPerSecond, rttMs: sender.rttMs });
  const staging = path.join(work, 'staging');
  const bot = await startBotProcess({
    cwd: work,
    entry: BUILT_ENTRY,
    env: {
      DISCORD_TOKEN: api.token,
      DISCORD_API_URL: api.apiUrl,
      FILES_ROOT: path.join(work, 'files'),
      PROGRESS_FILE_PATH: path.join(work, 'progress.json'),
      PARTS_IN: 'channel', // as measured before threads (BENCHMARKS.md)
      MAX_FILE_SIZE_BYTES: String(64 * 1024 * MIB),
      LOG_LEVEL: 'info',
      WEB_PORT: String(webPort),
      WEB_SECRET: SECRET,
      WEB_PUBLIC_URL: `http://127.0.0.1:${proxy.port}`,
      STAGING_DIR: staging,
      // For experiments: node flags for the bot only (e.g. bench/heap-sample.mjs).
      ...(process.env.BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BOT_NODE_OPTIONS } : {}),
    },
  });
  const sampler = new StagingSampler(staging);
  try {
    const reply = await fake.call<string>({ op: 'send' });
    const link = /(https?:\/\/\S+\/send\?token=[\w.-]+)/.exec(reply)?.[1];
    if (!link) throw new Error(`/send gave no link: ${reply}`);
    const { grant, files } = await redeem(link);
    if (!grant || !files) throw new Error('the upload link was refused');
    sampler.start();
    const t0 = Date.now();
    const result = await tusUpload(files, grant, source.file, { name: source.rel, retryDelays: [] });
    const uploadMs = Date.now() - t0;
    if (result.error) throw result.error;
    const id = result.url?.split('/').pop();
    if (!id) throw new Error('the upload has no id');
    const end = await bot.waitForLog((l) => l.transfer_id === id && (l.msg === 'transfer_complete' || l.msg === 'transfer_error'), RUN_TIMEOUT_MS);
    if (end.msg !== 'transfer_complete') throw new Error(`the transfer failed: ${String(end['reason'])}`);
    // The line's own time: it may have been read after the upload's end was measured.
    const completeMs = Date.parse(String(end['time'])) - t0;
    const peakRss = parseVmHWM(await readFile(`/proc/${bot.child.pid}/status`, 'utf8')) ?? Number.NaN;
    await sampler.stop();
    const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker: id });
    const name = sanitizeName(source.rel, id);
    verifyParts(source.parts, posted, name, 'send');
    const manifest = posted.flatMap((m) => m.attachments).find((a) => a.text !== undefined);
    const file = manifest?.text ? (JSON.parse(manifest.text) as { file: { sha256: string; size: number } }).file : undefined;
    if (file?.sha256 !== source.sha256) throw new Error(`the manifest says ${JSON.stringify(file)}, expected ${source.sha256}`);
    return { uploadMs, completeMs, peakStaging: sampler.peak, peakRss, messages: posted.length };
  } finally {
    await sampler.stop();
    await bot.kill('SIGTERM');
    await proxy.close();
  }
}

/** The bytes under STAGING_DIR, sampled on a timer; its peak. */
class StagingSampler {
  peak = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(async () => {
        this.peak = Math.max(this.peak, await bytesUnder(this.dir));
      });
    }, SAMPLE_MS);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}

/** The bytes of the files in `dir` and one level below (an upload's folder); a file removed meanwhile counts 0. */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await bytesUnder(full);
    else
      total += await stat(full).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

function describe(p: Profile): string {
  const up = Number.isFinite(p.bytesPerSecond) ? `${(p.bytesPerSecond * 8) / 1e6} Mbit/s up` : 'no bandwidth cap';
  return `${p.name} (${up}, ${p.rttMs} ms round trip)`;
}

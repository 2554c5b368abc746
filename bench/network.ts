/**
 * `npm run bench -- --network=<profile>` (README, 'How long a transfer takes'): the same transfers through a model
 * of the path to Discord (test/support/fake-discord/network/): the profile's uplink and round
 * trip, Discord's processing time per message, and the per-channel bucket (5 per 5 s) with its
 * real headers, counted once a message's body is in. For each row it prints MiB/s, the fraction
 * of the ceiling (profiles.ts) and the 429s the fake answered. Before the rows, a calibration:
 * a plain upload through the link next to the profile's bandwidth, flagged when more than 15 %
 * off, and the round trips it measures next to the model's.
 *
 * Rows: B (plain fetch, 3 parts a message, one at a time, a 429 waited out as Retry-After
 * says), the peer-style baseline (one part a message, one at a time, through discord.js's REST
 * client as simple bots post), the ddrive-style baseline (the same through three posters, each
 * its own REST client and channel, the parts dealt round-robin, as ddrive with three webhooks
 * in three channels), the bot at defaults, MAX_PARALLEL_UPLOADS 2 and 4, and the bot with 8 MiB
 * parts (3 fill 96 % of a message; 8,000,000-byte parts fill 91.6 %), and the bot at defaults
 * with four of its messages failed by Discord (FAULTS), with the upload the failures wasted:
 * these post in the channel (PARTS_IN=channel, labelled so), as when BENCHMARKS.md's history was
 * measured. Then the lane rows, PARTS_IN=thread with MAX_PARALLEL_UPLOADS 1, 2, 4 and 8 (k lanes:
 * k threads of the transfer, k buckets), and two /split of the file started together into one
 * channel, each in its thread and both in the channel, each next to one alone at its setting
 * (the lane P1 row and the defaults row when they ran, else a row of its own), the ratio in a
 * note. Every row's ceiling counts the buckets it may post through (profiles.ts: k lanes, two
 * threads, three channels); the `channels` column says how many its messages went through, and
 * a note flags a row that used fewer. Each row starts with a fresh bucket.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { FakeProcess } from './fake-process.js';
import type { FakeStats, PlannedFault } from './ipc.js';
import { baselinePosters } from './peers.js';
import { BUCKET, calibrationOff, CALIBRATION_TOLERANCE, ceiling, FULL_MESSAGE, parseProfile, type Profile } from './profiles.js';
import { formatTable, MIB, mibPerSecond, sizeLabel, type Cell } from './stats.js';
import {
  baselineA,
  baselineB,
  buildBot,
  CHUNK,
  DEFAULT_PACK,
  makeSource,
  runSplit,
  type Api,
  type RunResult,
  type Setting,
  type Source,
} from './transfers.js';
import { sleep } from '../test/support/wait.js';

const FILL_CHUNK = 8 * MIB; // bytes: three of them fill 96 % of a 25 MiB message

/** The rows measured before threads: in the channel (PARTS_IN=channel), as BENCHMARKS.md's history was. */
const SETTINGS: Setting[] = [
  { label: 'bot: defaults (P1 C3), channel', partsIn: 'channel', parallel: 1, pack: 3 },
  { label: 'bot: P2 C3, channel', partsIn: 'channel', parallel: 2, pack: 3 },
  { label: 'bot: P4 C3, channel', partsIn: 'channel', parallel: 4, pack: 3 },
  {
    label: 'bot: 8 MiB parts (P1 C3), channel',
    partsIn: 'channel',
    parallel: 1,
    pack: 3,
    chunk: FILL_CHUNK,
    env: { DEFAULT_CHUNK_SIZE_BYTES: String(FILL_CHUNK) },
  },
];

/** Lanes (README, 'How long a transfer takes'): in a thread, MAX_PARALLEL_UPLOADS = k posts through k threads, k buckets. */
const LANES: Setting[] = [1, 2, 4, 8].map((k) => ({ label: `bot: lanes P${k} (C3), thread`, partsIn: 'thread', parallel: k, pack: 3 }));

/** Two /split of the file started together into one channel: in a thread each (a bucket each), and both in the channel (one bucket). */
const PAIRS: Setting[] = [
  { label: 'two transfers into one channel: thread (P1 C3)', partsIn: 'thread', parallel: 1, pack: 3 },
  { label: 'two transfers into one channel: channel (P1 C3)', partsIn: 'channel', parallel: 1, pack: 3 },
];

/** The ddrive-style row posts through this many channels, a poster each. */
const DDRIVE_CHANNELS = 3;

/**
 * The row with faults: Discord fails four of the bot's messages (a 429, two 500s, a connection
 * lost), each once its body is in and the profile's processing time has passed, so the next
 * message's body is on its way when the failure comes. Creates counted from the row's first
 * (the progress message).
 */
const FAULTS: PlannedFault[] = [
  { kind: 'rateLimit', create: 3 },
  { kind: 'status500', create: 5 },
  { kind: 'status500', create: 7 },
  { kind: 'dropConnection', create: 9 },
];
const FAULT_ROW = 'bot: defaults, 4 faults (P1 C3), channel';

const say = (s: string) => process.stdout.write(`${s}\n`);

export async function runNetworkBench(profileArg: string, args: string[]): Promise<void> {
  const profile = parseProfile(profileArg);
  const sizeArg = args.find((a) => a.startsWith('--sizes='));
  const size = sizeArg ? Number(sizeArg.slice('--sizes='.length).split(',')[0]) * MIB : profile.sizeBytes;
  const only = args
    .find((a) => a.startsWith('--settings='))
    ?.slice('--settings='.length)
    .split(',');
  const picked = (label: string) => !only || only.some((o) => label.startsWith(o));
  const work = await mkdtemp(path.join(os.tmpdir(), 'dfs-bench-net-'));
  const filesRoot = path.join(work, 'files');
  await mkdir(filesRoot);
  buildBot();
  const fake = FakeProcess.start();
  let failed = false;
  try {
    const linked = Number.isFinite(profile.bytesPerSecond) || profile.rttMs > 0;
    const api = await fake.call<Api>({
      op: 'start',
      retainBytes: 4 * MIB,
      network: {
        ...(linked ? { link: { uploadBytesPerSecond: profile.bytesPerSecond, rttMs: profile.rttMs } } : {}),
        processingMs: profile.processingMs,
        bucket: BUCKET,
      },
    });
    const top = ceiling(profile);
    say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`);
    say(`command: npm run bench -- ${args.join(' ')}`);
    say(`\n## network: ${describe(profile)}`);
    say(
      `ceiling of one channel ${top.mibPerSecond.toFixed(2)} MiB/s, bound by the ${top.boundBy} (link: ${mibs(top.linkMiBs)}; the bucket, ${BUCKET.limit} full ${FULL_MESSAGE}-byte messages per ${BUCKET.windowMs / 1000} s: ${mibs(top.bucketMiBs)})`,
    );
    say(
      `the bot's messages at defaults carry ${DEFAULT_PACK} × ${CHUNK} bytes, ${((100 * DEFAULT_PACK * CHUNK) / FULL_MESSAGE).toFixed(1)} % of a full message; with 8 MiB parts ${((100 * DEFAULT_PACK * FILL_CHUNK) / FULL_MESSAGE).toFixed(1)} %`,
    );
    const calibration = await calibrate(profile, api);
    failed ||= calibration.flagged;
    say(calibration.line);
    say(`\n${sizeLabel(size)} (${size} bytes)`);
    const source = await makeSource(filesRoot, size, 1000, [CHUNK, FILL_CHUNK]);
    await baselineA(source); // warms the page cache for every row
    const rowsFailed = await runRows({ profile, size, source, work, api, fake, filesRoot, picked });
    failed ||= rowsFailed;
    await rm(source.file, { force: true });
  } finally {
    await fake.stop();
    await rm(work, { recursive: true, force: true });
  }
  if (failed) {
    say('\nat least one run FAILED verification or did not complete, or the calibration is off');
    process.exitCode = 1;
  }
}

interface Rows {
  profile: Profile;
  size: number;
  source: Source;
  work: string;
  api: Api;
  fake: FakeProcess;
  filesRoot: string;
  picked: (label: string) => boolean;
}

interface RowRun {
  ms: number;
  messages: number;
  /** The channels and threads the messages went to. */
  channels: number;
  peakRss?: number;
}

/** A row: how many channels' buckets its ceiling counts, the bytes it moves (default the file's), failures planned. */
interface RowPlan {
  label: string;
  channels: number;
  bytes?: number;
  faults?: PlannedFault[];
  /** The bot's peak RSS should stay below this many MB (10^6 bytes): a note says whether it did. */
  rssTargetMB?: number;
}

const settingKey = (s: Setting) => `${s.partsIn} P${s.parallel} C${s.pack}`;

/** Every row picked, in order, printed as one table with its notes; true when one failed. */
async function runRows(x: Rows): Promise<boolean> {
  const { profile, size, source, work, api, fake, filesRoot } = x;
  const rows: Cell[][] = [];
  const notes: string[] = [];
  let failed = false;
  /** The bot's speed alone at a setting, from a row already run: what two together compare with. */
  const alone = new Map<string, { label: string; speed: number }>();
  const row = async (plan: RowPlan, run: () => Promise<RowRun>): Promise<number | null> => {
    const faults = plan.faults ?? [];
    await sleep(BUCKET.windowMs + 500); // a fresh bucket
    const before = await fake.call<FakeStats>({ op: 'stats' });
    await fake.call({ op: 'faults', faults });
    try {
      const r = await run();
      const after = await fake.call<FakeStats>({ op: 'stats' });
      if (faults.length > 0) notes.push(wasted(plan.label, faults.length, before, after));
      const top = ceiling(profile, plan.channels);
      const speed = mibPerSecond(plan.bytes ?? size, r.ms);
      const peak = r.peakRss === undefined ? '' : r.peakRss / MIB;
      rows.push([
        plan.label,
        r.ms / 1000,
        speed,
        top.mibPerSecond,
        speed / top.mibPerSecond,
        after.tooMany - before.tooMany,
        r.messages,
        r.channels,
        peak,
      ]);
      if (r.channels < plan.channels) {
        notes.push(
          `${plan.label}: posted through ${r.channels} of the ${plan.channels} channels its ceiling counts (no lanes in this build, or it fell back)`,
        );
      }
      if (plan.rssTargetMB !== undefined && r.peakRss !== undefined) {
        const mb = r.peakRss / 1e6;
        notes.push(
          `${plan.label}: peak RSS ${mb.toFixed(1)} MB, ${mb < plan.rssTargetMB ? 'below' : 'NOT below'} the target of ${plan.rssTargetMB} MB`,
        );
      }
      return speed;
    } catch (error) {
      failed = true;
      rows.push([`${plan.label}: FAILED ${(error as Error).message}`, '', '', '', '', '', '', '', '']);
      return null;
    } finally {
      await fake.call({ op: 'faults', faults: [] });
    }
  };
  const bot = async (setting: Setting, plan: Omit<RowPlan, 'label'> = { channels: 1 }) => {
    if (!x.picked(setting.label)) return;
    const speed = await row({ label: setting.label, ...plan }, () => runSplit(source, setting, work, api, fake, filesRoot));
    if (speed !== null && !setting.env && !setting.chunk && !plan.faults) alone.set(settingKey(setting), { label: setting.label, speed });
  };
  const b = 'B: fetch multipart (C3)';
  if (x.picked(b)) await row({ label: b, channels: 1 }, () => baselineB(source, api, fake).then((r) => ({ ...r, channels: 1 })));
  const peer = 'peer: discord.js REST (C1)';
  if (x.picked(peer)) await row({ label: peer, channels: 1 }, () => baselinePosters(source, api, fake, [api.channelId], 'peer baseline'));
  const ddrive = `ddrive-style: discord.js REST (C1), ${DDRIVE_CHANNELS} channels`;
  const ddriveChannels = api.channelIds.slice(0, DDRIVE_CHANNELS);
  if (x.picked(ddrive)) await row({ label: ddrive, channels: DDRIVE_CHANNELS }, () => baselinePosters(source, api, fake, ddriveChannels, ddrive));
  for (const setting of SETTINGS) await bot(setting);
  await bot({ label: FAULT_ROW, partsIn: 'channel', parallel: 1, pack: 3 }, { channels: 1, faults: FAULTS });
  for (const setting of LANES) await bot(setting, { channels: setting.parallel, ...(setting.parallel === 8 ? { rssTargetMB: 200 } : {}) });
  for (const pair of PAIRS) {
    if (!x.picked(pair.label)) continue;
    const single = alone.get(settingKey(pair)) ?? (await soloFor(pair, row, () => runSplit(source, pair, work, api, fake, filesRoot)));
    const channels = pair.partsIn === 'thread' ? 2 : 1;
    const together = await row({ label: pair.label, channels, bytes: 2 * size }, () => runSplit(source, pair, work, api, fake, filesRoot, 2));
    if (single && together !== null) {
      const target = pair.partsIn === 'thread' ? 'target ≥ 1.8 ×' : 'expected ≈ 1.0 ×';
      notes.push(
        `${pair.label}: ${together.toFixed(2)} MiB/s together, ${(together / single.speed).toFixed(2)} × one alone (${single.speed.toFixed(2)} MiB/s, row "${single.label}"; ${target})`,
      );
    }
  }
  say(formatTable(['run', 'wall s', 'MiB/s', 'ceiling MiB/s', '× ceiling', '429s', 'messages', 'channels', 'peak RSS MiB'], rows));
  for (const note of notes) say(note);
  return failed;
}

/** One transfer alone at a pair's setting, when no row before measured it. */
async function soloFor(
  pair: Setting,
  row: (plan: RowPlan, run: () => Promise<RowRun>) => Promise<number | null>,
  run: () => Promise<RunResult>,
): Promise<{ label: string; speed: number } | null> {
  const label = `${pair.label}: one alone`;
  const speed = await row({ label, channels: 1 }, run);
  return speed === null ? null : { label, speed };
}

/** What the failures cost in upload: the bodies Discord failed (sent again: unavoidable once sent) and the bodies the bot cut off itself. */
function wasted(label: string, failures: number, before: FakeStats, after: FakeStats): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const refused = after.refusedBytes - before.refusedBytes;
  const abandoned = after.abandonedBytes - before.abandonedBytes;
  return (
    `${label}: ${after.refused - before.refused} creates failed by Discord (${mb(refused)} MB of body in them), ` +
    `${after.abandoned - before.abandoned} uploads cut off by the bot (${mb(abandoned)} MB); ` +
    `per failure ${mb((refused + abandoned) / failures)} MB wasted, of it ${mb(abandoned / failures)} MB cut off`
  );
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'no cap');
const mibs = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)} MiB/s` : 'no cap');

function describe(p: Profile): string {
  const up = Number.isFinite(p.bytesPerSecond)
    ? `${(p.bytesPerSecond * 8) / 1e6} Mbit/s up (${fmt(p.bytesPerSecond / MIB)} MiB/s)`
    : 'no bandwidth cap';
  return `${p.name}: ${up}, ${p.rttMs} ms round trip, ${p.processingMs} ms processing per message, bucket ${BUCKET.limit} messages per ${BUCKET.windowMs / 1000} s`;
}

/**
 * A plain upload through the link, on a new connection, to a route the fake reads to the end
 * and answers 404: its speed once the model's latency (two handshake round trips and one for
 * the exchange) is taken off, next to the profile's bandwidth. Then the round trips of a small
 * request on a new connection and on a kept one.
 */
async function calibrate(profile: Profile, api: Api): Promise<{ line: string; flagged: boolean }> {
  const url = `${api.apiUrl}/v10/bench/calibration`;
  const capped = Number.isFinite(profile.bytesPerSecond);
  const bytes = capped ? Math.min(512 * MIB, Math.max(8 * MIB, Math.round((profile.bytesPerSecond * 3) / MIB) * MIB)) : 256 * MIB;
  const piece = Buffer.alloc(MIB, 7);
  function* body() {
    for (let sent = 0; sent < bytes; sent += piece.length) yield piece;
  }
  const timed = async (agent: Agent, method: 'GET' | 'POST') => {
    const t0 = performance.now();
    const res = await request(method === 'POST' ? url : `${api.apiUrl}/v10/gateway`, {
      method,
      dispatcher: agent,
      // undici streams an iterable (its type lists only streams), as src/discord/client.ts does.
      ...(method === 'POST'
        ? { body: body() as unknown as Readable, headers: { 'content-length': String(bytes), 'content-type': 'application/octet-stream' } }
        : {}),
    });
    await res.body.arrayBuffer();
    return performance.now() - t0;
  };
  const uploads = new Agent();
  const uploadMs = await timed(uploads, 'POST');
  const small = new Agent();
  const newMs = await timed(small, 'GET');
  // undici may open another connection for a request right after an answer: the best of two.
  const keptMs = Math.min(await timed(small, 'GET'), await timed(small, 'GET'));
  await Promise.all([uploads.close(), small.close()]);
  const rate = (bytes * 1000) / Math.max(1, uploadMs - 3 * profile.rttMs);
  const off = calibrationOff(profile, rate);
  const flagged = off !== null && Math.abs(off) > CALIBRATION_TOLERANCE;
  const against =
    off === null
      ? 'no cap to compare with'
      : `against ${fmt(profile.bytesPerSecond / MIB)} MiB/s (${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)} %) ${flagged ? 'OFF BY MORE THAN 15 %' : 'ok'}`;
  return {
    flagged,
    line:
      `calibration: a plain ${sizeLabel(bytes)} upload through the ${capped || profile.rttMs > 0 ? 'link' : 'model (no link: loopback)'}: ${fmt(rate / MIB)} MiB/s ${against}; ` +
      `a small request: ${newMs.toFixed(0)} ms on a new connection (model ${3 * profile.rttMs}), ${keptMs.toFixed(0)} ms on a kept one (model ${profile.rttMs})`,
  };
}

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
 * client as simple bots post), the bot at defaults, MAX_PARALLEL_UPLOADS 2 and 4, and the bot
 * with 8 MiB parts (3 fill 96 % of a message; 8,000,000-byte parts fill 91.6 %), and the bot
 * at defaults with four of its messages failed by Discord (FAULTS), with the upload the
 * failures wasted. Each row starts with a fresh bucket.
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { REST, Routes } from 'discord.js';
import { Agent, request } from 'undici';
import { partName, sanitizeName } from '../src/transfer/plan.js';
import { FakeProcess } from './fake-process.js';
import type { FakeStats, PlannedFault, PostedMessage } from './ipc.js';
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
  verifyParts,
  type Api,
  type Setting,
  type Source,
} from './transfers.js';
import { sleep } from '../test/support/wait.js';

const FILL_CHUNK = 8 * MIB; // bytes: three of them fill 96 % of a 25 MiB message

const SETTINGS: Setting[] = [
  { label: 'bot: defaults (P1 C3)', parallel: 1, pack: 3 },
  { label: 'bot: P2 C3', parallel: 2, pack: 3 },
  { label: 'bot: P4 C3', parallel: 4, pack: 3 },
  { label: 'bot: 8 MiB parts (P1 C3)', parallel: 1, pack: 3, chunk: FILL_CHUNK, env: { DEFAULT_CHUNK_SIZE_BYTES: String(FILL_CHUNK) } },
];

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
const FAULT_ROW = 'bot: defaults, 4 faults (P1 C3)';

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
      `ceiling ${top.mibPerSecond.toFixed(2)} MiB/s, bound by the ${top.boundBy} (link: ${mibs(top.linkMiBs)}; the bucket, ${BUCKET.limit} full ${FULL_MESSAGE}-byte messages per ${BUCKET.windowMs / 1000} s: ${mibs(top.bucketMiBs)})`,
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
    const rows: Cell[][] = [];
    const notes: string[] = [];
    const row = async (label: string, run: () => Promise<{ ms: number; messages: number; peakRss?: number }>, faults: PlannedFault[] = []) => {
      if (!picked(label)) return;
      await sleep(BUCKET.windowMs + 500); // a fresh bucket
      const before = await fake.call<FakeStats>({ op: 'stats' });
      await fake.call({ op: 'faults', faults });
      try {
        const r = await run();
        const after = await fake.call<FakeStats>({ op: 'stats' });
        if (faults.length > 0) notes.push(wasted(label, faults.length, before, after));
        const speed = mibPerSecond(size, r.ms);
        rows.push([
          label,
          r.ms / 1000,
          speed,
          speed / top.mibPerSecond,
          after.tooMany - before.tooMany,
          r.messages,
          r.peakRss === undefined ? '' : r.peakRss / MIB,
        ]);
      } catch (error) {
        failed = true;
        rows.push([`${label}: FAILED ${(error as Error).message}`, '', '', '', '', '', '']);
      } finally {
        await fake.call({ op: 'faults', faults: [] });
      }
    };
    await row('B: fetch multipart (C3)', () => baselineB(source, api, fake));
    await row('peer: discord.js REST (C1)', () => baselinePeer(source, api, fake));
    for (const setting of SETTINGS) await row(setting.label, () => runSplit(source, setting, work, api, fake, filesRoot));
    const faulted: Setting = { label: FAULT_ROW, parallel: 1, pack: 3 };
    await row(FAULT_ROW, () => runSplit(source, faulted, work, api, fake, filesRoot), FAULTS);
    say(formatTable(['run', 'wall s', 'MiB/s', '× ceiling', '429s', 'messages', 'peak RSS MiB'], rows));
    for (const note of notes) say(note);
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

/** One part a message, one message at a time, through discord.js's REST client (which reads the bucket headers itself). */
async function baselinePeer(source: Source, api: Api, fake: FakeProcess): Promise<{ ms: number; messages: number }> {
  const marker = `bench-peer-${source.rel}-${Date.now()}`;
  const name = sanitizeName(source.rel, 'upload_benchpeer');
  const rest = new REST({ api: api.apiUrl, timeout: 300_000 }).setToken(api.token);
  const handle = await open(source.file, 'r');
  const t0 = performance.now();
  try {
    for (const [index, part] of source.parts.entries()) {
      const data = Buffer.allocUnsafe(part.size);
      await handle.read(data, 0, part.size, index * CHUNK);
      const filename = partName(name, index, source.parts.length);
      await rest.post(Routes.channelMessages(api.channelId), {
        body: { content: marker, attachments: [{ id: 0, filename }] },
        files: [{ name: filename, data }],
      });
    }
  } finally {
    await handle.close();
  }
  const ms = performance.now() - t0;
  const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker });
  verifyParts(source.parts, posted, name, 'peer baseline');
  return { ms, messages: posted.length };
}

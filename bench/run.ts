/**
 * `npm run bench [-- --quick | --large]`: the bot against the fake Discord, next to the
 * physical limits measured in the same run on the same file (BENCHMARKS.md says how to read it).
 *
 * Three processes: this harness, the fake Discord (bench/fake-child.ts, fork() IPC) and the
 * bot (dist/index.js, as `npm start` runs it; one row through tsx). For each file it measures
 *   A  one streaming read of the file with sha256 in Node (the disk-and-hash limit),
 *   B  the same parts POSTed as multipart by plain fetch, one message at a time, packed as
 *      the bot packs them at defaults, bodies read from the file in 1 MiB pieces
 *      (FileSlice), to the same fake (the transport limit),
 * then runs /split to completion for each setting, reading the bot's peak RSS (VmHWM) just
 * before stopping it. Every posted part's size and sha256 (hashed by the fake on receipt) is
 * compared with the part hashes computed here from the source, and the manifest's whole-file
 * sha256 with A's, so a fast wrong answer fails the run.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBotProcess, type BotProcess } from '../test/support/bot-process.js';
import { seededBytes } from '../test/support/random-file.js';
import { FileSlice } from './file-slice.js';
import { packBatches, partName, sanitizeName } from '../src/transfer/plan.js';
import { benchRecipient, recordWithKeys, sealedAnswers } from './age.js';
import { downloadRows } from './download.js';
import { FakeProcess } from './fake-process.js';
import type { PostedMessage } from './ipc.js';
import { formatTable, MIB, mibPerSecond, parseVmHWM, sizeLabel, type Cell } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHUNK = 8_000_000; // bytes: DEFAULT_CHUNK_SIZE_BYTES
const DEFAULT_PACK = 3; // MAX_CHUNKS_PER_MESSAGE default
const RUN_TIMEOUT_MS = 15 * 60_000;

interface Setting {
  label: string;
  parallel: number;
  pack: number;
  /** Run src/index.ts through tsx as `npm start` does, instead of the build. */
  tsx?: boolean;
  /** Encrypted with age to one recipient (AGE_RECIPIENTS). */
  age?: boolean;
}

const BUILT_ENTRY = path.join(ROOT, 'dist/index.js');

const SETTINGS: Setting[] = [
  { label: 'defaults (P1 C3)', parallel: 1, pack: 3 },
  { label: 'defaults, tsx', parallel: 1, pack: 3, tsx: true },
  { label: 'defaults, age 1 recipient', parallel: 1, pack: 3, age: true },
  { label: 'P2 C3', parallel: 2, pack: 3 },
  { label: 'P4 C3', parallel: 4, pack: 3 },
  { label: 'P1 C1', parallel: 1, pack: 1 },
];

function sizesFromArgs(args: string[]): number[] {
  // --sizes=256,4096 (MiB): a subset, for looking at one effect without the full run.
  const listed = args.find((a) => a.startsWith('--sizes='));
  if (listed)
    return listed
      .slice('--sizes='.length)
      .split(',')
      .map((n) => Number(n) * MIB);
  if (args.includes('--baselines-only')) return [256 * MIB];
  if (args.includes('--quick')) return [16 * MIB, 48 * MIB];
  const sizes = [256 * MIB, 1024 * MIB];
  if (args.includes('--large')) sizes.push(4096 * MIB);
  return sizes;
}

// ------------------------------------------------------------------------------------------
// Source files and the answers they must produce

interface Source {
  file: string;
  rel: string;
  size: number;
  sha256: string;
  parts: { size: number; sha256: string }[];
}

/** Writes seeded bytes and computes the expected part and whole-file hashes in the same pass. */
async function makeSource(dir: string, size: number, seed: number): Promise<Source> {
  const rel = `bench-${sizeLabel(size).replace(' ', '')}.bin`;
  const file = path.join(dir, rel);
  const whole = createHash('sha256');
  const parts: { size: number; sha256: string }[] = [];
  const state = { x: 0 };
  // seededBytes keeps its state in `state`; the first call seeds it.
  let part = createHash('sha256');
  let inPart = 0;
  const handle = await open(file, 'w');
  try {
    let first = true;
    for (let written = 0; written < size;) {
      // 4 MiB blocks keep word boundaries (multiples of 4) and divide 8,000,000-byte parts unevenly on purpose.
      const n = Math.min(4 * MIB, size - written);
      const block = first ? seededBytes(n, seed) : seededBytes(n, seed, state);
      if (first) {
        // Re-derive the state the first call ended with so later blocks continue the stream.
        first = false;
        state.x = block.readUInt32LE(n - 4);
      }
      whole.update(block);
      for (let at = 0; at < block.length;) {
        const take = Math.min(block.length - at, CHUNK - inPart);
        part.update(block.subarray(at, at + take));
        inPart += take;
        at += take;
        if (inPart === CHUNK) {
          parts.push({ size: inPart, sha256: part.digest('hex') });
          part = createHash('sha256');
          inPart = 0;
        }
      }
      await handle.write(block, 0, block.length, written);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
  if (inPart > 0) parts.push({ size: inPart, sha256: part.digest('hex') });
  return { file, rel, size, sha256: whole.digest('hex'), parts };
}

// ------------------------------------------------------------------------------------------
// Baselines

async function baselineA(source: Source): Promise<number> {
  const t0 = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(source.file, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  const ms = performance.now() - t0;
  if (digest !== source.sha256) throw new Error(`baseline A read a different file: ${digest} ≠ ${source.sha256}`);
  return ms;
}

async function baselineB(
  source: Source,
  api: { apiUrl: string; token: string; channelId: string },
  fake: FakeProcess,
): Promise<{ ms: number; messages: number }> {
  const marker = `bench-B-${source.rel}-${Date.now()}`;
  // Blob-like file ranges read in 1 MiB pieces (openAsBlob wraps sizes at 2^32 on Node 20).
  const info = await stat(source.file);
  const blob = new FileSlice({ path: source.file, fileSize: info.size, mtimeMs: info.mtimeMs }, 0, info.size);
  const slices = source.parts.map((p, i) => ({ index: i, size: p.size, offset: i * CHUNK }));
  const batches = packBatches(slices, DEFAULT_PACK);
  const name = sanitizeName(source.rel, 'upload_benchb');
  const t0 = performance.now();
  for (const batch of batches) {
    // Bounded: a 429 waits as told; more than 20 in a row is a failure.
    for (let attempt = 0; ; attempt++) {
      const form = new FormData();
      form.append(
        'payload_json',
        JSON.stringify({
          content: marker,
          attachments: batch.map((p, i) => ({ id: String(i), filename: partName(name, p.index, source.parts.length) })),
        }),
      );
      batch.forEach((p, i) => form.append(`files[${i}]`, blob.slice(p.offset, p.offset + p.size), partName(name, p.index, source.parts.length)));
      const res = await fetch(`${api.apiUrl}/v10/channels/${api.channelId}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bot ${api.token}` },
        body: form,
      });
      await res.arrayBuffer();
      if (res.status === 429 && attempt < 20) {
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? '1') * 1000));
        continue;
      }
      if (!res.ok) throw new Error(`baseline B: ${res.status}`);
      break;
    }
  }
  const ms = performance.now() - t0;
  const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker });
  verifyParts(source, posted, name, 'baseline B');
  return { ms, messages: posted.length };
}

/** Every part exactly once with the expected size and sha256; throws naming the first wrong one. */
function verifyParts(source: Pick<Source, 'parts'>, posted: PostedMessage[], name: string, what: string): void {
  const seen = new Map<number, { size: number; sha256: string }>();
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.part(\\d+)$`);
  for (const m of posted) {
    for (const a of m.attachments) {
      const match = pattern.exec(a.filename);
      if (!match) continue;
      const index = Number(match[1]) - 1;
      if (seen.has(index)) throw new Error(`${what}: part ${index} posted twice`);
      seen.set(index, a);
    }
  }
  if (seen.size !== source.parts.length) throw new Error(`${what}: ${seen.size} parts posted, expected ${source.parts.length}`);
  source.parts.forEach((expected, i) => {
    const got = seen.get(i);
    if (got?.size !== expected.size || got.sha256 !== expected.sha256) {
      throw new Error(`${what}: part ${i} is ${got?.size} bytes sha256 ${got?.sha256}, expected ${expected.size} bytes ${expected.sha256}`);
    }
  });
}

// ------------------------------------------------------------------------------------------
// One /split run

interface RunResult {
  ms: number;
  peakRss: number;
  messages: number;
}

async function runSplit(
  source: Source,
  setting: Setting,
  work: string,
  api: { apiUrl: string; token: string },
  fake: FakeProcess,
  filesRoot: string,
): Promise<RunResult> {
  const progress = path.join(work, `progress-${Date.now()}.json`);
  const bot: BotProcess = await startBotProcess({
    cwd: work,
    env: {
      DISCORD_TOKEN: api.token,
      DISCORD_API_URL: api.apiUrl,
      FILES_ROOT: filesRoot,
      PROGRESS_FILE_PATH: progress,
      MAX_PARALLEL_UPLOADS: String(setting.parallel),
      MAX_CHUNKS_PER_MESSAGE: String(setting.pack),
      MAX_FILE_SIZE_BYTES: String(64 * 1024 * MIB),
      LOG_LEVEL: 'info',
      ...(setting.age ? { AGE_RECIPIENTS: await benchRecipient() } : {}),
      // For experiments: node flags for the bot only (e.g. bench/heap-sample.mjs).
      ...(process.env.BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BOT_NODE_OPTIONS } : {}),
    },
    ...(setting.tsx ? {} : { entry: BUILT_ENTRY }),
  });
  try {
    const t0 = performance.now();
    const reply = await fake.call<string>({ op: 'split', path: source.rel });
    const id = /`(upload_[a-z0-9]+)`/.exec(reply)?.[1];
    if (!id) throw new Error(`/split did not start: ${reply}`);
    const keyed = setting.age ? await recordWithKeys(progress, id) : null;
    const end = await bot.waitForLog((l) => l.transfer_id === id && (l.msg === 'transfer_complete' || l.msg === 'transfer_error'), RUN_TIMEOUT_MS);
    const ms = performance.now() - t0;
    const status = await readFile(`/proc/${bot.child.pid}/status`, 'utf8');
    const peakRss = parseVmHWM(status) ?? Number.NaN;
    if (end.msg !== 'transfer_complete') throw new Error(`${setting.label}: transfer failed: ${String(end['reason'])}`);
    const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker: id });
    // An encrypted run must have posted the age file the source encrypts to under its keys.
    const expected = keyed ? await sealedAnswers(source.file, source.size, keyed, CHUNK) : source;
    const name = sanitizeName(source.rel, id) + (keyed ? '.age' : '');
    verifyParts(expected, posted, name, setting.label);
    const manifest = posted.flatMap((m) => m.attachments).find((a) => a.text !== undefined);
    const file = manifest?.text ? (JSON.parse(manifest.text) as { file: { sha256: string; size: number } }).file : undefined;
    if (file?.sha256 !== expected.sha256 || file.size !== expected.size)
      throw new Error(`${setting.label}: manifest says ${JSON.stringify(file)}, expected ${expected.sha256}`);
    return { ms, peakRss, messages: posted.length };
  } finally {
    await bot.kill('SIGTERM');
    await rm(progress, { force: true });
  }
}

// ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizes = sizesFromArgs(args);
  const work = await mkdtemp(path.join(os.tmpdir(), 'dfs-bench-'));
  const filesRoot = path.join(work, 'files');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(filesRoot);
  // The bot runs as deployed: `npm run build`, then node dist/index.js (one row runs it through tsx).
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  const fake = FakeProcess.start();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  let failed = false;
  try {
    // Keep manifests to read their whole-file hash; parts (8,000,000 bytes) are hashed and
    // dropped. A manifest takes ~250 bytes per part: 1 MiB was too little from ~28 GiB on.
    const api = await fake.call<{ apiUrl: string; token: string; channelId: string }>({ op: 'start', retainBytes: 4 * MIB });
    say(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`,
    );
    say(`command: npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`);
    for (const [n, size] of sizes.entries()) {
      say(`\n## ${sizeLabel(size)} (${size} bytes, parts of ${CHUNK} bytes)`);
      const source = await makeSource(filesRoot, size, 1000 + n);
      // Warm the page cache the same way for everyone: A reads the file first.
      await baselineA(source);
      const aMs = await baselineA(source);
      const b = await baselineB(source, api, fake);
      const header = ['run', 'wall s', 'MiB/s', 'peak RSS MiB', 'messages', '× A time', '× B time'];
      const rows: Cell[][] = [
        ['A: read + sha256', aMs / 1000, mibPerSecond(size, aMs), '', '', 1, aMs / b.ms],
        ['B: fetch multipart', b.ms / 1000, mibPerSecond(size, b.ms), '', b.messages, b.ms / aMs, 1],
      ];
      const only = args
        .find((a) => a.startsWith('--settings='))
        ?.slice('--settings='.length)
        .split(',');
      const settings = args.includes('--baselines-only') ? [] : SETTINGS.filter((s) => !only || only.some((o) => s.label.startsWith(o)));
      for (const setting of settings) {
        try {
          const r = await runSplit(source, setting, work, api, fake, filesRoot);
          rows.push([setting.label, r.ms / 1000, mibPerSecond(size, r.ms), r.peakRss / MIB, r.messages, r.ms / aMs, r.ms / b.ms]);
        } catch (error) {
          failed = true;
          rows.push([`${setting.label}: FAILED ${(error as Error).message}`, '', '', '', '', '', '']);
        }
      }
      say(formatTable(header, rows));
      const seconds = (label: string) => rows.find((r) => r[0] === label)?.[1];
      const [plain, sealed] = [seconds('defaults (P1 C3)'), seconds('defaults, age 1 recipient')];
      if (typeof plain === 'number' && typeof sealed === 'number')
        say(`age at defaults: ${(sealed / plain).toFixed(2)} × the plaintext time (SPEC: at most 1.5)`);
      // Download links: for sizes a fake that keeps every byte can hold (up to 1 GiB).
      if (size <= 1024 * MIB && !args.includes('--baselines-only') && !args.includes('--no-download')) {
        try {
          say(`\ndownload of the ${sizeLabel(size)} transfer`);
          say(
            formatTable(
              ['run', 'wall s', 'MiB/s', 'bot peak RSS MiB', '× C time', 'speed / C'],
              await downloadRows(source, { work, filesRoot, entry: BUILT_ENTRY }),
            ),
          );
        } catch (error) {
          failed = true;
          say(`download: FAILED ${(error as Error).message}`);
        }
      }
      await rm(source.file, { force: true });
    }
  } finally {
    const exited = new Promise((r) => fake.child.once('exit', r));
    await fake.call({ op: 'stop' }).catch(() => undefined);
    // Let it exit by itself (a CPU profile is written at exit), killed after 10 s at most.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    fake.child.kill();
    await rm(work, { recursive: true, force: true });
  }
  if (failed) {
    say('\nat least one run FAILED verification or did not complete');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

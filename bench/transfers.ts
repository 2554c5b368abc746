/**
 * What every benchmark mode does with a file: generate it with the answers it must produce,
 * baseline A (read + sha256), baseline B (plain fetch multipart), a /split run of the bot as
 * its own process, and the check that every posted part is the right one exactly once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBotProcess, type BotProcess } from '../test/support/bot-process.js';
import { seededBytes } from '../test/support/random-file.js';
import { FileSlice } from './file-slice.js';
import { packBatches, partName, sanitizeName } from '../src/transfer/plan.js';
import { benchRecipient, recordWithKeys, sealedAnswers } from './age.js';
import type { FakeProcess } from './fake-process.js';
import type { PostedMessage } from './ipc.js';
import type { StoredTransfer } from '../src/store/types.js';
import { MIB, parseVmHWM, sizeLabel } from './stats.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHUNK = 8_000_000; // bytes: DEFAULT_CHUNK_SIZE_BYTES
export const DEFAULT_PACK = 3; // MAX_CHUNKS_PER_MESSAGE default
export const BUILT_ENTRY = path.join(ROOT, 'dist/index.js');
const RUN_TIMEOUT_MS = 15 * 60_000;

export interface Api {
  apiUrl: string;
  token: string;
  /** Where /split is sent, and parts go with PARTS_IN=channel. */
  channelId: string;
  /** Every text channel of the guild, `channelId` first. */
  channelIds: string[];
}

export interface Setting {
  label: string;
  /** PARTS_IN, always given: the rows measured before threads keep `channel`, so they compare with BENCHMARKS.md's history. */
  partsIn: 'channel' | 'thread';
  parallel: number;
  pack: number;
  /** Run src/index.ts through tsx as `npm start` does, instead of the build. */
  tsx?: boolean;
  /** More of the bot's environment (e.g. DEFAULT_CHUNK_SIZE_BYTES). */
  env?: Record<string, string>;
  /** The part size the bot plans with these settings; default CHUNK. */
  chunk?: number;
  /** Encrypted with age to one recipient (AGE_RECIPIENTS). */
  age?: boolean;
}

/** The bot runs as deployed: `npm run build`, then node dist/index.js (one row runs it through tsx). */
export function buildBot(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'bin/build.js')], { stdio: 'inherit' });
}

// ------------------------------------------------------------------------------------------
// Source files and the answers they must produce

export interface PartHash {
  size: number;
  sha256: string;
}

export interface Source {
  file: string;
  rel: string;
  size: number;
  sha256: string;
  /** The parts at CHUNK bytes. */
  parts: PartHash[];
  /** The parts at each part size asked for (CHUNK included). */
  partsAt: Map<number, PartHash[]>;
}

/** Writes seeded bytes and computes the expected part and whole-file hashes in the same pass. */
export async function makeSource(dir: string, size: number, seed: number, chunks: readonly number[] = [CHUNK]): Promise<Source> {
  const rel = `bench-${sizeLabel(size).replace(' ', '')}.bin`;
  const file = path.join(dir, rel);
  const whole = createHash('sha256');
  const sizes = [...new Set([CHUNK, ...chunks])];
  const cutters = sizes.map((chunk) => ({ chunk, parts: [] as PartHash[], hash: createHash('sha256'), inPart: 0 }));
  const state = { x: 0 };
  const handle = await open(file, 'w');
  try {
    let first = true;
    for (let written = 0; written < size;) {
      // 4 MiB blocks keep word boundaries (multiples of 4) and divide 8,000,000-byte parts unevenly on purpose.
      const n = Math.min(4 * MIB, size - written);
      // seededBytes keeps its state in `state`; the first call seeds it.
      const block = first ? seededBytes(n, seed) : seededBytes(n, seed, state);
      if (first) {
        // Re-derive the state the first call ended with so later blocks continue the stream.
        first = false;
        state.x = block.readUInt32LE(n - 4);
      }
      whole.update(block);
      for (const c of cutters) {
        for (let at = 0; at < block.length;) {
          const take = Math.min(block.length - at, c.chunk - c.inPart);
          c.hash.update(block.subarray(at, at + take));
          c.inPart += take;
          at += take;
          if (c.inPart === c.chunk) {
            c.parts.push({ size: c.inPart, sha256: c.hash.digest('hex') });
            c.hash = createHash('sha256');
            c.inPart = 0;
          }
        }
      }
      await handle.write(block, 0, block.length, written);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
  for (const c of cutters) if (c.inPart > 0) c.parts.push({ size: c.inPart, sha256: c.hash.digest('hex') });
  const partsAt = new Map(cutters.map((c) => [c.chunk, c.parts]));
  return { file, rel, size, sha256: whole.digest('hex'), parts: partsAt.get(CHUNK)!, partsAt };
}

// ------------------------------------------------------------------------------------------
// Baselines

export async function baselineA(source: Source): Promise<number> {
  const t0 = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(source.file, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  const ms = performance.now() - t0;
  if (digest !== source.sha256) throw new Error(`baseline A read a different file: ${digest} ≠ ${source.sha256}`);
  return ms;
}

export async function baselineB(source: Source, api: Api, fake: FakeProcess): Promise<{ ms: number; messages: number }> {
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
  verifyParts(source.parts, posted, name, 'baseline B');
  return { ms, messages: posted.length };
}

/** Every part exactly once with the expected size and sha256; throws naming the first wrong one. */
export function verifyParts(expected: readonly PartHash[], posted: PostedMessage[], name: string, what: string): void {
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
  if (seen.size !== expected.length) throw new Error(`${what}: ${seen.size} parts posted, expected ${expected.length}`);
  expected.forEach((part, i) => {
    const got = seen.get(i);
    if (got?.size !== part.size || got.sha256 !== part.sha256) {
      throw new Error(`${what}: part ${i} is ${got?.size} bytes sha256 ${got?.sha256}, expected ${part.size} bytes ${part.sha256}`);
    }
  });
}

// ------------------------------------------------------------------------------------------
// /split runs

export interface RunResult {
  ms: number;
  peakRss: number;
  messages: number;
  /** The channels and threads the transfers' messages went to. */
  channels: number;
}

/**
 * `together` /split of the source started at the same instant into the fake's first channel,
 * on one bot: from sending them to the last one's `transfer_complete`, every part of each
 * checked, and the bot's peak RSS.
 */
export async function runSplit(
  source: Source,
  setting: Setting,
  work: string,
  api: Api,
  fake: FakeProcess,
  filesRoot: string,
  together = 1,
): Promise<RunResult> {
  const progress = path.join(work, `progress-${Date.now()}.json`);
  const bot: BotProcess = await startBotProcess({
    cwd: work,
    env: {
      DISCORD_TOKEN: api.token,
      DISCORD_API_URL: api.apiUrl,
      FILES_ROOT: filesRoot,
      PROGRESS_FILE_PATH: progress,
      PARTS_IN: setting.partsIn,
      MAX_PARALLEL_UPLOADS: String(setting.parallel),
      MAX_CHUNKS_PER_MESSAGE: String(setting.pack),
      MAX_FILE_SIZE_BYTES: String(64 * 1024 * MIB),
      LOG_LEVEL: 'info',
      ...(setting.age ? { AGE_RECIPIENTS: await benchRecipient() } : {}),
      ...setting.env,
      // For experiments: node flags for the bot only (e.g. bench/heap-sample.mjs).
      ...(process.env.BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BOT_NODE_OPTIONS } : {}),
    },
    ...(setting.tsx ? {} : { entry: BUILT_ENTRY }),
  });
  try {
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: together }, async () => {
        const reply = await fake.call<string>({ op: 'split', path: source.rel });
        const id = /`(upload_[a-z0-9]+)`/.exec(reply)?.[1];
        if (!id) throw new Error(`/split did not start: ${reply}`);
        return id;
      }),
    );
    const keyed = setting.age ? await Promise.all(ids.map((id) => recordWithKeys(progress, id))) : null;
    const ends = await Promise.all(
      ids.map((id) => bot.waitForLog((l) => l.transfer_id === id && (l.msg === 'transfer_complete' || l.msg === 'transfer_error'), RUN_TIMEOUT_MS)),
    );
    const ms = performance.now() - t0;
    const status = await readFile(`/proc/${bot.child.pid}/status`, 'utf8');
    const peakRss = parseVmHWM(status) ?? Number.NaN;
    const failed = ends.find((end) => end.msg !== 'transfer_complete');
    if (failed) throw new Error(`${setting.label}: transfer failed: ${String(failed['reason'])}`);
    const channels = new Set<string>();
    let messages = 0;
    for (const [i, id] of ids.entries()) {
      const posted = await checkPosted(source, setting, fake, id, keyed?.[i] ?? null);
      messages += posted.length;
      for (const m of posted) channels.add(m.channelId);
    }
    return { ms, peakRss, messages, channels: channels.size };
  } finally {
    await bot.kill('SIGTERM');
    await rm(progress, { force: true });
  }
}

/** Every part of one transfer posted once and right, and its manifest naming the whole file; its messages. */
async function checkPosted(source: Source, setting: Setting, fake: FakeProcess, id: string, keyed: StoredTransfer | null): Promise<PostedMessage[]> {
  const posted = await fake.call<PostedMessage[]>({ op: 'messages', marker: id });
  // An encrypted run must have posted the age file the source encrypts to under its keys.
  const sealed = keyed ? await sealedAnswers(source.file, source.size, keyed, setting.chunk ?? CHUNK) : null;
  const name = sanitizeName(source.rel, id) + (sealed ? '.age' : '');
  const expected = sealed?.parts ?? source.partsAt.get(setting.chunk ?? CHUNK);
  if (!expected) throw new Error(`${setting.label}: no part hashes computed for parts of ${setting.chunk} bytes`);
  verifyParts(expected, posted, name, setting.label);
  const whole = sealed ?? source;
  const manifest = posted.flatMap((m) => m.attachments).find((a) => a.text !== undefined);
  const file = manifest?.text ? (JSON.parse(manifest.text) as { file: { sha256: string; size: number } }).file : undefined;
  if (file?.sha256 !== whole.sha256 || file.size !== whole.size)
    throw new Error(`${setting.label}: manifest says ${JSON.stringify(file)}, expected ${whole.sha256}`);
  return posted;
}

/**
 * The download-link rows of `npm run bench` (README, 'Download links'): a transfer is posted, the bot
 * restarted (so its peak RSS is the download's, not the upload's), and then the file is
 * fetched through its `/share` link, next to
 *   C  the same attachments (found where the progress file records each: the channel or the
 *      transfer's thread) fetched straight from the fake CDN, in order, one at a time, through
 *      fresh links, and hashed, as plain `fetch` would (the transport limit).
 * Both bodies must hash to the source's sha256. `bot CPU s` is the bot process's CPU time
 * (user + system) during the download, which a busy machine does not inflate as wall time.
 * A fake of its own keeps every attachment's bytes (the CDN serves them back), so this runs
 * only for sizes up to 1 GiB.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { startBotProcess, type BotProcess } from '../test/support/bot-process.js';
import { freePort } from '../test/support/ports.js';
import { FakeProcess } from './fake-process.js';
import type { Cell } from './stats.js';
import { MIB, mibPerSecond, parseVmHWM } from './stats.js';

interface Posted {
  id: string;
  attachments: { filename: string; url: string; size: number }[];
}

export async function downloadRows(
  source: { rel: string; size: number; sha256: string },
  options: { work: string; filesRoot: string; entry: string },
): Promise<Cell[][]> {
  const fake = FakeProcess.start();
  const api = await fake.call<{ apiUrl: string; token: string; channelId: string }>({ op: 'start', retainBytes: -1 });
  const progress = path.join(options.work, `progress-download-${Date.now()}.json`);
  const port = await freePort();
  const env = {
    DISCORD_TOKEN: api.token,
    DISCORD_API_URL: api.apiUrl,
    FILES_ROOT: options.filesRoot,
    PROGRESS_FILE_PATH: progress,
    PARTS_IN: 'channel', // as measured before threads (BENCHMARKS.md)
    MAX_FILE_SIZE_BYTES: String(64 * 1024 * MIB),
    LOG_LEVEL: 'info',
    WEB_PORT: String(port),
    WEB_SECRET: 'bench-download-secret-0123456789abcdef',
  };
  // BENCH_BOT_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof': node flags for the bot (a profile, written when it stops).
  const flags = process.env.BENCH_BOT_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const start = () =>
    startBotProcess({
      cwd: options.work,
      env,
      entry: options.entry,
      ...(flags.length ? { command: [process.execPath, ...flags, options.entry] as const } : {}),
    });
  let bot: BotProcess = await start();
  try {
    const reply = await fake.call<string>({ op: 'split', path: source.rel });
    const id = /`(upload_[a-z0-9]+)`/.exec(reply)?.[1];
    if (!id) throw new Error(`/split did not start: ${reply}`);
    const end = await bot.waitForLog((l) => l.transfer_id === id && (l.msg === 'transfer_complete' || l.msg === 'transfer_error'), 15 * 60_000);
    if (end.msg !== 'transfer_complete') throw new Error(`the upload failed: ${String(end['reason'])}`);
    await bot.kill('SIGTERM');
    bot = await start();
    const link = /(http:\/\/\S+\/d\/\S+)/.exec(await fake.call<string>({ op: 'share', transferId: id }))?.[1];
    if (!link) throw new Error('/share gave no link');

    const c = await timed(async () => straightFromCdn(api, await recordedParts(progress, id), source.size));
    const cpuBefore = await cpuSeconds(bot.child.pid);
    const viaLink = await timed(() => hashBody(link));
    const cpu = (await cpuSeconds(bot.child.pid)) - cpuBefore;
    const peak = parseVmHWM(await readFile(`/proc/${bot.child.pid}/status`, 'utf8')) ?? Number.NaN;
    for (const [what, got] of [
      ['C', c.value],
      ['download link', viaLink.value],
    ] as const) {
      if (got !== source.sha256) throw new Error(`${what}: the bytes hash to ${got}, the source to ${source.sha256}`);
    }
    return [
      ['C: CDN fetch + sha256', c.ms / 1000, mibPerSecond(source.size, c.ms), '', '', 1, 1],
      ['download link (/share)', viaLink.ms / 1000, mibPerSecond(source.size, viaLink.ms), peak / MIB, cpu, viaLink.ms / c.ms, c.ms / viaLink.ms],
    ];
  } finally {
    await bot.kill('SIGTERM');
    await fake.call({ op: 'stop' }).catch(() => undefined);
    fake.child.kill();
    await rm(progress, { force: true });
  }
}

/** The CPU time (user + system) a process has used so far, from /proc: a cost the machine's load does not inflate as it does wall time. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: performance.now() - t0 };
}

async function hashBody(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url} answered ${res.status}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** A message, waiting out the fake's 429s as any client must (a fast C meets its 50 requests a second). */
async function messageOf(url: string, headers: Record<string, string>): Promise<Posted> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await fetch(url, { headers });
    if (res.status !== 429) return (await res.json()) as Posted;
    const { retry_after } = (await res.json()) as { retry_after: number };
    await new Promise((resolve) => setTimeout(resolve, retry_after * 1000));
  }
  throw new Error(`${url} answered 429 twenty times`);
}

interface RecordedPart {
  name: string;
  message_id: string;
  channel_id: string;
}

/** The transfer's parts in order, where its record says each is (the channel, or the thread they were posted in). */
async function recordedParts(progressPath: string, transferId: string): Promise<RecordedPart[]> {
  const file = JSON.parse(await readFile(progressPath, 'utf8')) as {
    active_transfers: { id: string; channel_id: string; parts: { name: string; message_id: string; channel_id?: string | null }[] }[];
  };
  const t = file.active_transfers.find((x) => x.id === transferId);
  if (!t) throw new Error(`no record of ${transferId} in ${progressPath}`);
  return t.parts.map((p) => ({ name: p.name, message_id: p.message_id, channel_id: p.channel_id ?? t.channel_id }));
}

/** The transfer's parts in order, each through a link from its message fetched now. */
async function straightFromCdn(api: { apiUrl: string; token: string }, parts: readonly RecordedPart[], size: number): Promise<string> {
  const headers = { Authorization: `Bot ${api.token}` };
  const hash = createHash('sha256');
  let total = 0;
  for (const part of parts) {
    const message = await messageOf(`${api.apiUrl}/v10/channels/${part.channel_id}/messages/${part.message_id}`, headers);
    const url = message.attachments.find((a) => a.filename === part.name)!.url;
    const res = await fetch(url);
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      total += chunk.length;
    }
  }
  if (total !== size) throw new Error(`C got ${total} bytes, expected ${size}`);
  return hash.digest('hex');
}

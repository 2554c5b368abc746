/**
 * `npm run bench [-- --quick | --large | --network=<profile> | --send]`: the bot against the fake Discord, next to the
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
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { downloadRows } from './download.js';
import { FakeProcess } from './fake-process.js';
import { runNetworkBench } from './network.js';
import { runSendBench } from './send.js';
import { formatTable, MIB, mibPerSecond, sizeLabel, type Cell } from './stats.js';
import { baselineA, baselineB, buildBot, BUILT_ENTRY, CHUNK, makeSource, runSplit, type Api, type Setting } from './transfers.js';

const SETTINGS: Setting[] = [
  { label: 'defaults (P1 C3)', partsIn: 'channel', parallel: 1, pack: 3 },
  { label: 'defaults, tsx', partsIn: 'channel', parallel: 1, pack: 3, tsx: true },
  { label: 'defaults, age 1 recipient', partsIn: 'channel', parallel: 1, pack: 3, age: true },
  { label: 'P2 C3', partsIn: 'channel', parallel: 2, pack: 3 },
  { label: 'P4 C3', partsIn: 'channel', parallel: 4, pack: 3 },
  { label: 'P1 C1', partsIn: 'channel', parallel: 1, pack: 1 },
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // --network=<profile>: the same transfers through a model of the path to Discord (network.ts).
  const network = args.find((a) => a.startsWith('--network='));
  // --send: a file sent from a member's computer through tus (send.ts); --network= there is the bot's link.
  if (args.includes('--send')) return runSendBench(args);
  if (network) return runNetworkBench(network.slice('--network='.length), args);
  const sizes = sizesFromArgs(args);
  const work = await mkdtemp(path.join(os.tmpdir(), 'dfs-bench-'));
  const filesRoot = path.join(work, 'files');
  await mkdir(filesRoot);
  buildBot();
  const fake = FakeProcess.start();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  let failed = false;
  try {
    // Keep manifests to read their whole-file hash; parts (8,000,000 bytes) are hashed and
    // dropped. A manifest takes ~250 bytes per part: 1 MiB was too little from ~28 GiB on.
    const api = await fake.call<Api>({ op: 'start', retainBytes: 4 * MIB });
    say(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`,
    );
    say(`command: npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`);
    for (const [n, size] of sizes.entries()) {
      say(`\n## ${sizeLabel(size)} (${size} bytes, parts of ${CHUNK} bytes)`);
      const source = await makeSource(filesRoot, size, 1000 + n);
      // --download-only: the download row alone (its own upload, baseline C), for before/after pairs.
      if (args.includes('--download-only')) {
        failed = !(await sayDownload(source, { work, filesRoot }, say)) || failed;
        await rm(source.file, { force: true });
        continue;
      }
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
        say(`age at defaults: ${(sealed / plain).toFixed(2)} × the plaintext time (target: at most 1.5)`);
      // Download links: for sizes a fake that keeps every byte can hold (up to 1 GiB).
      if (size <= 1024 * MIB && !args.includes('--baselines-only') && !args.includes('--no-download')) {
        failed = !(await sayDownload(source, { work, filesRoot }, say)) || failed;
      }
      await rm(source.file, { force: true });
    }
  } finally {
    await fake.stop();
    await rm(work, { recursive: true, force: true });
  }
  if (failed) {
    say('\nat least one run FAILED verification or did not complete');
    process.exitCode = 1;
  }
}

/** The download rows of one size (bench/download.ts); false when they failed. */
async function sayDownload(
  source: Parameters<typeof downloadRows>[0],
  where: { work: string; filesRoot: string },
  say: (s: string) => void,
): Promise<boolean> {
  try {
    say(`\ndownload of the ${sizeLabel(source.size)} transfer`);
    say(
      formatTable(
        ['run', 'wall s', 'MiB/s', 'bot peak RSS MiB', 'bot CPU s', '× C time', 'speed / C'],
        await downloadRows(source, { ...where, entry: BUILT_ENTRY }),
      ),
    );
    return true;
  } catch (error) {
    say(`download: FAILED ${(error as Error).message}`);
    return false;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

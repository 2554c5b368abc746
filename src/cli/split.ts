/** `split <file> [--chunk-size N] [--out DIR] [--force]`: the bot's engine with a local directory as the sink. */
import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { MemoryStore } from '../store/memory-store.js';
import { LocalSink } from '../transfer/local-sink.js';
import { planFileTransfer } from '../transfer/new-transfer.js';
import { runTransfer } from '../transfer/orchestrator.js';
import { isPartName, manifestName } from '../transfer/plan.js';
import { transferRecipients } from '../crypto/age.js';
import { newEncryption } from '../transfer/encryption.js';
import { CliFailure, messageOf, UsageError, UserError } from '../errors.js';
import { statInputFile, type CliIo } from './io.js';
import { ProgressBar } from './progress-bar.js';
import { formatBytes, MAX_CLI_CHUNK_SIZE, parseSize } from './size.js';

export const SPLIT_USAGE = 'split <file> [--chunk-size N] [--out DIR] [--recipient age1…]... [--force]';

export async function split(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'chunk-size': { type: 'string' },
      out: { type: 'string' },
      recipient: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`split takes exactly one file: ${SPLIT_USAGE}`);
  const config = loadConfig(io.env);
  const chunkSize = values['chunk-size'] === undefined ? config.DEFAULT_CHUNK_SIZE_BYTES : parseSize(values['chunk-size'], '--chunk-size');
  if (chunkSize > MAX_CLI_CHUNK_SIZE) {
    const where = values['chunk-size'] === undefined ? 'DEFAULT_CHUNK_SIZE_BYTES' : '--chunk-size';
    const message = `${where} ${chunkSize} bytes is above the CLI's limit of ${MAX_CLI_CHUNK_SIZE} bytes (1 GiB)`;
    throw values['chunk-size'] === undefined ? new CliFailure(message) : new UsageError(message);
  }

  let encryption;
  try {
    encryption = await newEncryption(await transferRecipients(config.AGE_RECIPIENTS, values.recipient ?? []));
  } catch (err) {
    if (err instanceof UserError) throw new UsageError(`--recipient: ${err.message}`);
    throw err;
  }

  const file = path.resolve(io.cwd, positionals[0]!);
  const { size } = await statInputFile(file);
  const outDir = path.resolve(io.cwd, values.out ?? '.');
  await mkdir(outDir, { recursive: true }).catch((err: unknown) => {
    throw new CliFailure(`cannot create ${outDir}: ${messageOf(err)}`);
  });
  if (!(await stat(outDir)).isDirectory()) throw new CliFailure(`${outDir} is not a directory`);

  const plan = await planFileTransfer({
    realPath: await realpath(file),
    relPath: path.basename(file),
    chunkSize,
    ownerId: 'local',
    channelId: 'local',
    encryption,
  });
  await clearEarlierSplit(outDir, plan.file_name, values.force);
  const store = new MemoryStore();
  const transfer = await store.create(plan);
  const bar = new ProgressBar(io.stderr, 'split', size);
  const final = await runTransfer(
    {
      store,
      sink: new LocalSink(outDir),
      // Quiet unless asked: the CLI prints its own one-line outcome.
      log: createLogger({ level: io.env.LOG_LEVEL ? config.LOG_LEVEL : 'silent', destination: io.stderr }),
      config: {
        maxChunksPerMessage: 1,
        maxParallelUploads: 1,
        retryLimit: config.RETRY_LIMIT_PER_CHUNK,
        backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
        maxFileSizeBytes: config.MAX_FILE_SIZE_BYTES,
      },
      onProgress: (t) => bar.update(t.bytes_done),
    },
    transfer.id,
    { signal: io.signal },
  );
  bar.finish();
  if (final.status !== 'complete') {
    throw new CliFailure(`split ${final.status}: ${final.notes.at(-1) ?? 'stopped before the end'}`);
  }
  io.stdout.write(
    `wrote ${final.total_chunks} part(s) of ${final.file_name} (${size} bytes, ${formatBytes(size)}) to ${outDir}\n` +
      `sha256 ${final.file_sha256}${encryption ? ` (of the age file; encrypted for ${encryption.recipients.length} recipient(s))` : ''}\n` +
      `manifest ${path.join(outDir, manifestName(final.file_name))}\n`,
  );
  return 0;
}

/**
 * New parts beside an earlier split's make `cat <name>.part* > <name>` rebuild a corrupt file
 * (a longer earlier split leaves its last parts). Refuses when `dir` holds parts or a manifest
 * of `name`, unless `force`, which removes them; files that are no parts but match the glob
 * are refused either way, since they are not ours to remove.
 */
async function clearEarlierSplit(dir: string, name: string, force: boolean): Promise<void> {
  const entries = (await readdir(dir)).sort();
  const foreign = entries.filter((e) => e.startsWith(`${name}.part`) && !isPartName(name, e));
  if (foreign.length > 0) {
    throw new CliFailure(
      `${dir} holds ${foreign.join(', ')}, which are no parts of a split but \`cat ${name}.part* > ${name}\` would pick up; move them away first`,
    );
  }
  const earlier = entries.filter((e) => isPartName(name, e) || e === manifestName(name));
  if (earlier.length === 0) return;
  if (!force) {
    throw new CliFailure(
      `${dir} already holds an earlier split of ${name}: ${describeSet(earlier, name)}; ` +
        `new parts beside them would make \`cat ${name}.part* > ${name}\` rebuild a corrupt file (use --force to remove them first)`,
    );
  }
  for (const entry of earlier) {
    await rm(path.join(dir, entry)).catch((err: unknown) => {
      throw new CliFailure(`cannot remove ${path.join(dir, entry)} of an earlier split: ${messageOf(err)}`);
    });
  }
}

/** `a.part001 … a.part005 (5 parts), a.manifest.json`: every file named, or the first and last part. */
function describeSet(entries: string[], name: string): string {
  const parts = entries.filter((e) => isPartName(name, e));
  const named = parts.length > 3 ? `${parts[0]} … ${parts.at(-1)}` : parts.join(', ');
  const pieces = parts.length > 0 ? [`${named} (${parts.length} part${parts.length === 1 ? '' : 's'})`] : [];
  return [...pieces, ...entries.filter((e) => !isPartName(name, e))].join(', ');
}

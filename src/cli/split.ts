/** `split <file> [--chunk-size N] [--out DIR]`: the bot's engine with a local directory as the sink. */
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { MemoryStore } from '../store/memory-store.js';
import { LocalSink } from '../transfer/local-sink.js';
import { planFileTransfer, runTransfer } from '../transfer/orchestrator.js';
import { manifestName } from '../transfer/plan.js';
import { CliFailure, UsageError } from './errors.js';
import { statInputFile, type CliIo } from './io.js';
import { ProgressBar } from './progress-bar.js';
import { formatBytes, MAX_CLI_CHUNK_SIZE, parseSize } from './size.js';

export const SPLIT_USAGE = 'split <file> [--chunk-size N] [--out DIR]';

export async function split(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'chunk-size': { type: 'string' }, out: { type: 'string' } },
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

  const file = path.resolve(io.cwd, positionals[0]!);
  const { size } = await statInputFile(file);
  const outDir = path.resolve(io.cwd, values.out ?? '.');
  await mkdir(outDir, { recursive: true }).catch((err: Error) => {
    throw new CliFailure(`cannot create ${outDir}: ${err.message}`);
  });
  if (!(await stat(outDir)).isDirectory()) throw new CliFailure(`${outDir} is not a directory`);

  const store = new MemoryStore();
  const transfer = await store.create(
    await planFileTransfer({ realPath: await realpath(file), relPath: path.basename(file), chunkSize, ownerId: 'local', channelId: 'local' }),
  );
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
      `sha256 ${final.file_sha256}\n` +
      `manifest ${path.join(outDir, manifestName(final.file_name))}\n`,
  );
  return 0;
}

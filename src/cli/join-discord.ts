/**
 * `join --channel ID --message ID [--out FILE] [--force]`: rebuilds a file from a manifest
 * message on Discord. Every part comes from its message, fetched in this run for a fresh
 * link, streamed into a temp file beside the output and checked; the output appears only
 * when every part and the whole file matched (or, for `-`, a pipe or a terminal, the bytes
 * are written into it as they come: output.ts).
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { REST } from 'discord.js';
import { loadConfig } from '../config.js';
import { DiscordDownloader } from '../discord/download.js';
import { CliFailure, DownloadError, messageOf, UsageError } from '../errors.js';
import { parseManifestOrFail, type CliIo } from './io.js';
import { checkOutput, defaultOutput, outputName, reportStream, resolveOutput, writeOutput, type JoinOutput } from './output.js';
import { ProgressBar } from './progress-bar.js';
import { checkEncrypted, decryptInto, plainName, readIdentity, rebuiltWhat } from './decrypt.js';

export const JOIN_DISCORD_USAGE = 'join --channel ID --message ID [--out FILE|-] [--identity KEYFILE] [--force]';

const SNOWFLAKE = /^\d{15,21}$/;

export async function joinFromDiscord(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      channel: { type: 'string' },
      message: { type: 'string' },
      out: { type: 'string' },
      identity: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const { channel, message } = values;
  if (positionals.length > 0) throw new UsageError(`join from Discord takes no manifest file: ${JOIN_DISCORD_USAGE}`);
  if (channel === undefined || message === undefined)
    throw new UsageError(`join from Discord needs both --channel and --message: ${JOIN_DISCORD_USAGE}`);
  for (const [flag, id] of [
    ['--channel', channel],
    ['--message', message],
  ] as const) {
    if (!SNOWFLAKE.test(id)) throw new UsageError(`${flag} ${JSON.stringify(id)} is not a Discord id (15 to 21 digits)`);
  }
  const config = loadConfig(io.env, { requireToken: true });
  const identity = values.identity === undefined ? null : await readIdentity(io.cwd, values.identity);
  // An explicit --out is checked before the network is touched.
  let output: JoinOutput | undefined = values.out === undefined ? undefined : await checkOutput(resolveOutput(io.cwd, values.out), values.force);

  // Our own retries (with backoff, a fresh link each time) are the only ones; 429 waits stay with discord.js.
  const rest = new REST({ api: config.DISCORD_API_URL, retries: 0 }).setToken(config.DISCORD_TOKEN!);
  const downloader = new DiscordDownloader({
    rest,
    retryLimit: config.RETRY_LIMIT_PER_CHUNK,
    backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
    signal: io.signal,
  });
  const where = `message ${message} in channel ${channel}`;
  try {
    const text = await downloader.manifestText(channel, message);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new CliFailure(`bad manifest in ${where}: not valid JSON (${messageOf(err)})`);
    }
    const manifest = parseManifestOrFail(json, `in ${where}`);
    if (identity) checkEncrypted(manifest, `in ${where}`);
    output ??= await checkOutput(defaultOutput(identity ? plainName(manifest) : manifest, io.cwd, `in ${where}`), values.force);
    let plainBytes = 0;
    // The parts live where the bot posted them, which the manifest records: each part's own
    // channel (a thread), else (an older manifest) the channel the manifest was posted in.
    const partsChannel = manifest.channel_id ?? channel;
    await writeOutput(output, io, async (plainWrite) => {
      const decryption = identity ? decryptInto(plainWrite, manifest, identity) : null;
      const write = decryption?.write ?? plainWrite;
      const bar = new ProgressBar(io.stderr, 'join', manifest.file.size);
      try {
        let whole = createHash('sha256');
        for (const chunk of manifest.chunks) {
          io.signal.throwIfAborted();
          whole = await downloader.part(partsChannel, chunk, write, whole, (bytes) => bar.update(chunk.offset + bytes));
        }
        if (whole.digest('hex') !== manifest.file.sha256) {
          throw new CliFailure(`the rebuilt ${manifest.file.name} does not match the manifest's sha256`);
        }
        await decryption?.end();
        plainBytes = decryption?.written ?? 0;
      } finally {
        bar.finish();
      }
    });
    reportStream(output, io).write(
      `rebuilt ${outputName(output)} (${rebuiltWhat(manifest, identity ? plainBytes : null, manifest.chunks.length)})\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof DownloadError) throw new CliFailure(err.message, { cause: err });
    throw err;
  }
}

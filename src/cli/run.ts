/** The command line's dispatcher (README, 'The command line'): exit 0 success, 1 failure, 2 usage. */
import { CliFailure, ConfigError, messageOf, UsageError } from '../errors.js';
import type { CliIo } from './io.js';
import { JOIN_DISCORD_USAGE } from './join-discord.js';
import { join, JOIN_USAGE } from './join.js';
import { send, SEND_USAGE } from './send.js';
import { split, SPLIT_USAGE } from './split.js';
import { verify, VERIFY_USAGE } from './verify.js';

const USAGE = `usage: discord-file-splitter <command> …
  ${SPLIT_USAGE}
      write the parts and <name>.manifest.json into DIR (default: the current directory);
      N in bytes or with a unit: 8MB, 10MiB, 500KB, 1GiB (default DEFAULT_CHUNK_SIZE_BYTES);
      refuses a DIR holding an earlier split of that name unless --force, which removes it
  ${JOIN_USAGE}
      rebuild the file (parts default to the manifest's directory), checking every part;
      --out - writes it to stdout; a pipe or a device is written into, never replaced
  ${JOIN_DISCORD_USAGE}
      download the parts of the manifest message from Discord and rebuild the file
      (DISCORD_TOKEN, DISCORD_API_URL when set; output defaults to ./<file name>)
  ${VERIFY_USAGE}
      check the parts against the manifest without writing anything
  ${SEND_USAGE}
      send the file to Discord through the bot, with the link /send gave; run it again
      after an interruption and it continues; exit 0 once the manifest's sha256 is the file's
`;

const COMMANDS = { split, join, verify, send } as const;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command as keyof typeof COMMANDS] : undefined;
  try {
    if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(USAGE);
      return 0;
    }
    return await run(args, io);
  } catch (err) {
    return report(err, io);
  }
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof UsageError || isParseArgsError(err)) {
    io.stderr.write(`error: ${messageOf(err)}\n${USAGE}`);
    return 2;
  }
  if (err instanceof CliFailure || err instanceof ConfigError) {
    for (const line of err.message.split('\n')) io.stderr.write(`error: ${line}\n`);
    return 1;
  }
  if (io.signal.aborted) {
    io.stderr.write('error: interrupted\n');
    return 1;
  }
  io.stderr.write(`error: ${messageOf(err)}\n`);
  return 1;
}

/** node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options. */
function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** pino JSON lines (SPEC section 8). The token is redacted wherever it could appear. */
import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'token',
  'DISCORD_TOKEN',
  'config.DISCORD_TOKEN',
  'headers.authorization',
  'headers.Authorization',
  '*.token',
  '*.authorization',
];

export interface LogOptions {
  level?: string;
  /** Extra secret strings scrubbed from every line (the token itself). */
  secrets?: string[];
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 8);
  const scrub = (line: string) => secrets.reduce((acc, s) => acc.split(s).join('[REDACTED]'), line);
  // A token can hide inside an error message or a URL, beyond any redact path: scrub the text.
  const destination = options.destination ?? process.stdout;
  const stream =
    secrets.length === 0
      ? destination
      : { write: (line: string) => destination.write(scrub(line)) };
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'discord-file-splitter' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream as NodeJS.WritableStream,
  );
}

/** With LOG_REDACT_FILENAMES, names are logged as a short stable hash. */
export function logName(name: string, redact: boolean): string {
  return redact ? `name#${createHash('sha256').update(name).digest('hex').slice(0, 10)}` : name;
}

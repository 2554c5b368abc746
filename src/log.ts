/**
 * pino JSON lines (README, 'Configuration'). The token is redacted wherever it could appear, and
 * so are the tokens of interactions and of the links the bot hands out: errors go through
 * `serializeError` (src/log-errors.ts), and every line is scrubbed of such tokens as a last
 * resort. With LOG_REDACT_FILENAMES, file names, paths and URLs are too (`LogRedactions`).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { redactTokens, serializeError } from './log-errors.js';

export type { Logger };

const REDACT_PATHS = [
  'token',
  'DISCORD_TOKEN',
  'config.DISCORD_TOKEN',
  'headers.authorization',
  'headers.Authorization',
  '*.token',
  '*.authorization',
  // An encrypted transfer's secrets (never logged: README, 'Encryption'), should a record ever be logged whole.
  'file_key',
  '*.file_key',
  'encryption.file_key',
  '*.encryption.file_key',
  'payloadKey',
  '*.payloadKey',
];
const TOKEN_KEYS = new Set(REDACT_PATHS.map((p) => p.split('.').at(-1)));

/** Fields that carry a name or a path, hashed even when their value was never registered. */
const NAME_PATHS = [
  'file_name',
  'files_root',
  'progress_file',
  'path',
  'real_path',
  'url',
  'err.path',
  'err.dest',
  'err.url',
  '*.file_name',
  '*.real_path',
  '*.url',
];

/** Shorter strings are not scrubbed: they would hit unrelated words in every line. */
const MIN_REDACTED_LENGTH = 3;

export interface LogOptions {
  level?: string;
  /** Extra secret strings scrubbed from every line (the token itself). */
  secrets?: string[];
  /** With LOG_REDACT_FILENAMES: the names to write as hashes. */
  redactions?: LogRedactions;
  destination?: NodeJS.WritableStream;
  /** Fields on every line, such as `shard` in a shard process. */
  bindings?: Record<string, string | number>;
}

export function createLogger(options: LogOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 8);
  const redactions = options.redactions?.enabled ? options.redactions : null;
  const scrub = (line: string) => {
    const clean = redactTokens(secrets.reduce((acc, s) => acc.split(s).join('[REDACTED]'), line));
    return redactions ? redactions.scrub(clean) : clean;
  };
  // A token or a name can hide inside an error message or a URL, beyond any redact path: scrub the text.
  const destination = options.destination ?? process.stdout;
  const stream = { write: (line: string) => destination.write(scrub(line)) };
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'discord-file-splitter', ...options.bindings },
      serializers: { err: serializeError, error: serializeError },
      redact: redactions
        ? {
            paths: [...REDACT_PATHS, ...NAME_PATHS],
            censor: (value: unknown, at: string[]) => (TOKEN_KEYS.has(at.at(-1)) ? '[REDACTED]' : logName(String(value), true)),
          }
        : { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream as NodeJS.WritableStream,
  );
}

/** With LOG_REDACT_FILENAMES, names are logged as a short stable hash. */
export function logName(name: string, redact: boolean): string {
  return redact ? `name#${createHash('sha256').update(name).digest('hex').slice(0, 10)}` : name;
}

/**
 * The names and paths to keep out of the log with LOG_REDACT_FILENAMES, registered by the bot
 * as it learns them (configuration, progress file, each new transfer). The logger writes each
 * as its `logName` hash wherever it appears in a string value, error messages and notes
 * included. Disabled, it keeps nothing.
 */
export class LogRedactions {
  /** Each form a value may take in a JSON line → its hash. */
  readonly #hashes = new Map<string, string>();
  #pattern: RegExp | null = null;

  constructor(readonly enabled: boolean) {}

  add(...values: (string | null | undefined)[]): void {
    if (!this.enabled) return;
    for (const value of values) {
      if (!value || value.length < MIN_REDACTED_LENGTH) continue;
      // As written raw, and as JSON escapes it inside a string (quotes, backslashes, controls).
      for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) {
        if (this.#hashes.has(form)) continue;
        this.#hashes.set(form, logName(value, true));
        this.#pattern = null;
      }
    }
  }

  /** One JSON log line with every registered value inside its string values replaced (keys are left alone). */
  scrub(line: string): string {
    if (this.#hashes.size === 0) return line;
    // Longest first, so a path is replaced whole rather than around its file name.
    this.#pattern ??= new RegExp(
      [...this.#hashes.keys()]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    const pattern = this.#pattern;
    return line.replace(/"((?:[^"\\]|\\.)*)"(\s*:)?/g, (whole, inner: string, key: string | undefined) =>
      key ? whole : `"${inner.replace(pattern, (match) => this.#hashes.get(match) ?? match)}"`,
    );
  }
}

/** What names a transfer's source: both paths and their base names, or the URL's pieces. */
export function sourceNames(
  source: { kind: 'file'; path: string; real_path: string } | { kind: 'url'; url: string } | { kind: 'send'; name: string },
): string[] {
  if (source.kind === 'send') return [source.name, path.basename(source.name)];
  return source.kind === 'file' ? [source.path, path.basename(source.path), source.real_path, path.basename(source.real_path)] : urlNames(source.url);
}

/** A URL as given and normalized, its host, its path (raw and decoded, and its base name) and its query. */
export function urlNames(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const decoded = safeDecode(parsed.pathname);
  return [
    url,
    parsed.href,
    parsed.host,
    parsed.hostname,
    parsed.pathname,
    decoded,
    path.posix.basename(decoded),
    parsed.search,
    parsed.search.slice(1),
  ];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

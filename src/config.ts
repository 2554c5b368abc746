/**
 * The environment, read once and validated with one zod schema (SPEC section 4).
 * `loadConfig(env)` is pure: it takes the variables and returns a typed config or throws a
 * ConfigError that lists every bad key at once.
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

export const DEFAULTS = {
  DISCORD_API_URL: 'https://discord.com/api',
  FILES_ROOT: './files',
  PROGRESS_FILE_PATH: './transfer_progress.json',
  DEFAULT_CHUNK_SIZE_BYTES: 8_000_000, // bytes
  MAX_CHUNKS_PER_MESSAGE: 3,
  MAX_PARALLEL_UPLOADS: 1,
  RETRY_LIMIT_PER_CHUNK: 5,
  RETRY_BACKOFF_BASE_MS: 500, // ms
  UPLOAD_TIMEOUT_MS: 120_000, // ms
  HASH_ALGO: 'sha256',
  MAX_FILE_SIZE_BYTES: 107_374_182_400, // bytes, 100 GiB
  MAX_ACTIVE_TRANSFERS: 3,
  PROGRESS_EDIT_INTERVAL_MS: 5_000, // ms
  AUTO_RESUME: true,
  RETENTION_HOURS: 168,
  LOG_LEVEL: 'info',
  LOG_REDACT_FILENAMES: false,
  URL_HEADERS_TIMEOUT_MS: 30_000, // ms, per hop
  URL_MIN_BYTES_PER_SECOND: 1_024, // bytes per second
  URL_LOW_SPEED_WINDOW_MS: 60_000, // ms of waiting for the server
} as const;

/** Discord refuses more than 10 attachments in one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

const snowflake = z.string().regex(/^\d{15,21}$/, 'must be a Discord id (15 to 21 digits)');

const snowflakeList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(snowflake));

const hostList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter((x) => x.length > 0),
  );

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => s === 'true' || s === '1' || s === 'yes');

/** Empty strings count as unset, as they do in a `.env` written from `.env.example`. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const schema = z.object({
  DISCORD_TOKEN: optional(z.string().min(1)),
  DISCORD_API_URL: optional(z.url({ protocol: /^https?$/ })).transform((v) => v ?? DEFAULTS.DISCORD_API_URL),
  FILES_ROOT: optional(z.string()).transform((v) => path.resolve(v ?? DEFAULTS.FILES_ROOT)),
  PROGRESS_FILE_PATH: optional(z.string().regex(/\.json$/, 'must end in .json')).transform((v) =>
    path.resolve(v ?? DEFAULTS.PROGRESS_FILE_PATH),
  ),
  DEFAULT_CHUNK_SIZE_BYTES: optional(int(1)).transform((v) => v ?? DEFAULTS.DEFAULT_CHUNK_SIZE_BYTES),
  MAX_CHUNKS_PER_MESSAGE: optional(int(1, MAX_ATTACHMENTS_PER_MESSAGE)).transform(
    (v) => v ?? DEFAULTS.MAX_CHUNKS_PER_MESSAGE,
  ),
  MAX_PARALLEL_UPLOADS: optional(int(1, 16)).transform((v) => v ?? DEFAULTS.MAX_PARALLEL_UPLOADS),
  RETRY_LIMIT_PER_CHUNK: optional(int(0, 100)).transform((v) => v ?? DEFAULTS.RETRY_LIMIT_PER_CHUNK),
  RETRY_BACKOFF_BASE_MS: optional(int(0, 600_000)).transform((v) => v ?? DEFAULTS.RETRY_BACKOFF_BASE_MS),
  UPLOAD_TIMEOUT_MS: optional(int(100, 3_600_000)).transform((v) => v ?? DEFAULTS.UPLOAD_TIMEOUT_MS),
  HASH_ALGO: optional(z.literal('sha256', 'only sha256 is supported')).transform(() => 'sha256' as const),
  MAX_FILE_SIZE_BYTES: optional(int(1)).transform((v) => v ?? DEFAULTS.MAX_FILE_SIZE_BYTES),
  MAX_ACTIVE_TRANSFERS: optional(int(1, 1000)).transform((v) => v ?? DEFAULTS.MAX_ACTIVE_TRANSFERS),
  ALLOWED_ROLE_IDS: snowflakeList,
  ALLOWED_USER_IDS: snowflakeList,
  UPLOAD_ALLOWED_HOSTS: hostList,
  URL_HEADERS_TIMEOUT_MS: optional(int(100, 3_600_000)).transform((v) => v ?? DEFAULTS.URL_HEADERS_TIMEOUT_MS),
  URL_MIN_BYTES_PER_SECOND: optional(int(1)).transform((v) => v ?? DEFAULTS.URL_MIN_BYTES_PER_SECOND),
  URL_LOW_SPEED_WINDOW_MS: optional(int(100, 3_600_000)).transform((v) => v ?? DEFAULTS.URL_LOW_SPEED_WINDOW_MS),
  PROGRESS_EDIT_INTERVAL_MS: optional(int(0, 3_600_000)).transform((v) => v ?? DEFAULTS.PROGRESS_EDIT_INTERVAL_MS),
  AUTO_RESUME: optional(bool).transform((v) => v ?? DEFAULTS.AUTO_RESUME),
  RETENTION_HOURS: optional(int(0, 1_000_000)).transform((v) => v ?? DEFAULTS.RETENTION_HOURS),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).transform(
    (v) => v ?? DEFAULTS.LOG_LEVEL,
  ),
  LOG_REDACT_FILENAMES: optional(bool).transform((v) => v ?? DEFAULTS.LOG_REDACT_FILENAMES),
  METRICS_PORT: optional(int(1, 65_535)),
  DEV_GUILD_ID: optional(snowflake),
});

export type Config = z.output<typeof schema>;

export interface LoadOptions {
  /** The bot and deploy-commands need a token; the local CLI does not. */
  requireToken?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv, options: LoadOptions = {}): Config {
  const known = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k]]));
  const result = schema.safeParse(known);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '(environment)');
      const message = issue.code === 'invalid_type' && env[key] === undefined ? 'is required' : issue.message;
      problems.push(`${key} ${message} (got ${describe(key, env[key])})`);
    }
  }
  if (options.requireToken && !env.DISCORD_TOKEN) {
    problems.unshift('DISCORD_TOKEN is required to run the bot: copy .env.example to .env and set it');
  }
  if (problems.length > 0 || !result.success) throw new ConfigError([...new Set(problems)]);
  return result.data;
}

function describe(key: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (key === 'DISCORD_TOKEN') return '[redacted]';
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

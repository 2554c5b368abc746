/**
 * The environment, read once and validated with one zod schema (README, 'Configuration').
 * `loadConfig(env)` is pure: it takes the variables and returns a typed config or throws a
 * ConfigError that lists every bad key at once.
 */
import path from 'node:path';
import { z } from 'zod';
import { holdsSecretKey, looksLikeRecipient, parseRecipient } from './crypto/age.js';
import { ConfigError } from './errors.js';

/**
 * The defaults of README's 'Configuration' table, each of the type its key's rule (below) gives. An unset key
 * not listed here is off (DISCORD_TOKEN, METRICS_PORT, DEV_GUILD_ID, WEB_PORT), an empty
 * list, or derived (WEB_PUBLIC_URL from WEB_HOST and WEB_PORT; WEB_SECRET random per start;
 * SHARD_LIST every shard of TOTAL_SHARDS).
 */
export const DEFAULTS = {
  DISCORD_API_URL: 'https://discord.com/api',
  FILES_ROOT: './files', // from the working directory
  PROGRESS_FILE_PATH: './transfer_progress.json', // from the working directory
  DEFAULT_CHUNK_SIZE_BYTES: 8_000_000, // bytes
  MAX_CHUNKS_PER_MESSAGE: 3,
  MAX_PARALLEL_UPLOADS: 1,
  PARTS_IN: 'thread', // where parts and the manifest go: the target channel, or a thread per transfer
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
  WEB_HOST: '127.0.0.1',
  WEB_LINK_TTL_MINUTES: 15, // minutes a sign-in link stays usable
  SHARE_MAX_HOURS: 168, // hours a download link may be made for
  AUTO_SHARE_HOURS: 24, // hours the Download button's link works; 0: no button
  WEB_MAX_DOWNLOADS: 4, // downloads streaming at once
  TOTAL_SHARDS: 'auto', // the count GET /gateway/bot recommends
  STAGING_DIR: './staging', // from the working directory
  STAGING_PER_UPLOAD_BYTES: 104_857_600, // bytes waiting to be posted per upload, 100 MiB
  STAGING_MAX_BYTES: 2_147_483_648, // bytes, all uploads together, 2 GiB
  SEND_EXPIRY_HOURS: 24, // hours an upload may receive nothing before it is cancelled
} as const satisfies { [K in keyof Rules]?: z.output<Rules[K]> };

/** Discord refuses more than 10 attachments in one message. */
const MAX_ATTACHMENTS_PER_MESSAGE = 10;

const snowflake = z.string().regex(/^\d{15,21}$/, 'must be a Discord id (15 to 21 digits)');

/** A comma-separated list's items, trimmed (and given to `normalise`), empty ones dropped. */
const splitList = (s: string, normalise: (item: string) => string = (x) => x) =>
  s
    .split(',')
    .map((x) => normalise(x.trim()))
    .filter((x) => x.length > 0);

/** A comma-separated list, empty when unset. */
const commaList = (normalise?: (item: string) => string) =>
  z
    .string()
    .default('')
    .transform((s) => splitList(s, normalise));

const snowflakeList = commaList().pipe(z.array(snowflake));

const hostList = commaList((x) => x.toLowerCase());

/** Comma-separated age public keys (README, 'Encryption'); their checksums are checked when the bot starts. */
const recipientList = commaList().pipe(
  z.array(
    z
      .string()
      .refine((key) => !holdsSecretKey(key), {
        error: 'holds an age secret key (AGE-SECRET-KEY-1…), not shown: list public keys (age1…, printed by age-keygen -y <key file>)',
        abort: true,
      })
      .refine(looksLikeRecipient, 'must be age public keys (age1 followed by 58 letters and digits), comma-separated'),
  ),
);

/** The most lanes a transfer posts through (README, 'Lanes'). */
const MAX_LANES = 8;
const LANES_TOO_MANY =
  `is at most ${MAX_LANES}: with PARTS_IN=thread each is a lane, a thread of the transfer; every lane's messages count ` +
  `against Discord's global limit of 50 requests a second for the whole bot, and each lane holds one message's body in flight (memory)`;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** In WEB_PUBLIC_URL, stands for the shard's id: each shard serves its own web page (README, 'Sharding'). */
export const SHARD_PLACEHOLDER = '{shard}';

const httpUrl = z.url({ protocol: /^https?$/ });

const shardCount = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(auto|\d+)$/, 'must be auto or a whole number')
  .transform((s) => (s === 'auto' ? ('auto' as const) : Number(s)))
  .refine((n) => n === 'auto' || n >= 1, 'must be auto or at least 1');

/** Shard ids, "0,1": each a whole number, none twice; TOTAL_SHARDS bounds them (shardListProblems). */
const shardList = z.string().transform((s, ctx) => {
  const items = splitList(s);
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (items.length === 0) return fail('must name at least one shard id');
  if (!items.every((x) => /^\d+$/.test(x))) return fail('must be shard ids (whole numbers from 0) separated by commas, e.g. 0,1');
  const ids = items.map(Number);
  const twice = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (twice.length > 0) return fail(`names shard ${twice.join(', ')} more than once`);
  return ids;
});

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => s === 'true' || s === '1' || s === 'yes');

/** What each key accepts when it is set, in the order problems are listed. */
const rules = {
  DISCORD_TOKEN: z.string().min(1).optional(),
  DISCORD_API_URL: z.url({ protocol: /^https?$/ }),
  FILES_ROOT: z.string(),
  PROGRESS_FILE_PATH: z.string().regex(/\.json$/, 'must end in .json'),
  DEFAULT_CHUNK_SIZE_BYTES: int(1),
  MAX_CHUNKS_PER_MESSAGE: int(1, MAX_ATTACHMENTS_PER_MESSAGE),
  MAX_PARALLEL_UPLOADS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LANES, LANES_TOO_MANY)),
  PARTS_IN: z.enum(['thread', 'channel']),
  RETRY_LIMIT_PER_CHUNK: int(0, 100),
  RETRY_BACKOFF_BASE_MS: int(0, 600_000),
  UPLOAD_TIMEOUT_MS: int(100, 3_600_000),
  // Read by nothing on purpose: the manifest and the progress file name their hashes `sha256`,
  // so the key exists to refuse a config that asks for another algorithm, not to switch it.
  HASH_ALGO: z.literal('sha256', 'only sha256 is supported'),
  MAX_FILE_SIZE_BYTES: int(1),
  MAX_ACTIVE_TRANSFERS: int(1, 1000),
  ALLOWED_ROLE_IDS: snowflakeList,
  ALLOWED_USER_IDS: snowflakeList,
  UPLOAD_ALLOWED_HOSTS: hostList,
  AGE_RECIPIENTS: recipientList,
  URL_HEADERS_TIMEOUT_MS: int(100, 3_600_000),
  URL_MIN_BYTES_PER_SECOND: int(1),
  URL_LOW_SPEED_WINDOW_MS: int(100, 3_600_000),
  PROGRESS_EDIT_INTERVAL_MS: int(0, 3_600_000),
  AUTO_RESUME: bool,
  RETENTION_HOURS: int(0, 1_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  LOG_REDACT_FILENAMES: bool,
  METRICS_PORT: int(1, 65_535).optional(),
  DEV_GUILD_ID: snowflake.optional(),
  WEB_PORT: int(1, 65_535).optional(),
  WEB_HOST: z.string().min(1),
  // {shard} may stand anywhere, even in the port: the URL must hold with any id put there.
  WEB_PUBLIC_URL: z
    .string()
    .refine((u) => httpUrl.safeParse(u.replaceAll(SHARD_PLACEHOLDER, '0')).success, 'Invalid URL')
    .refine((u) => !/[?#]/.test(u), 'must be a base URL without a query or fragment')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  WEB_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  WEB_LINK_TTL_MINUTES: int(1, 1440),
  SHARE_MAX_HOURS: int(1, 8760),
  AUTO_SHARE_HOURS: int(0, 8760),
  WEB_MAX_DOWNLOADS: int(1, 64),
  TOTAL_SHARDS: shardCount,
  SHARD_LIST: shardList.optional(),
  STAGING_DIR: z.string().min(1),
  STAGING_PER_UPLOAD_BYTES: int(1_048_576),
  STAGING_MAX_BYTES: int(1_048_576),
  SEND_EXPIRY_HOURS: int(1, 8760),
};
type Rules = typeof rules;
/** One key's schema: its rule, with the key's default when DEFAULTS has one. */
type Field<K extends keyof Rules> = z.ZodPreprocess<K extends keyof typeof DEFAULTS ? z.ZodDefault<Rules[K]> : Rules[K]>;

/** Empty strings count as unset, as they do in a `.env` written from `.env.example`. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

const fields = Object.fromEntries(
  Object.entries(rules).map(([key, rule]: [string, z.ZodType]) => [
    key,
    z.preprocess(unsetIfEmpty, Object.hasOwn(DEFAULTS, key) ? rule.default(DEFAULTS[key as keyof typeof DEFAULTS]) : rule),
  ]),
) as { [K in keyof Rules]: Field<K> };

const schema = z.object(fields).transform((config) => ({
  ...config,
  FILES_ROOT: path.resolve(config.FILES_ROOT),
  PROGRESS_FILE_PATH: path.resolve(config.PROGRESS_FILE_PATH),
  STAGING_DIR: path.resolve(config.STAGING_DIR),
}));

export type Config = z.output<typeof schema>;

export interface LoadOptions {
  /** The bot and deploy-commands need a token; the local CLI does not. */
  requireToken?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv, options: LoadOptions = {}): Config {
  const known = Object.fromEntries(Object.keys(rules).map((k) => [k, env[k]]));
  const result = schema.safeParse(known);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '(environment)');
      const message = issue.code === 'invalid_type' && env[key] === undefined ? 'is required' : issue.message;
      problems.push(`${key} ${message} (got ${describe(key, env[key])})`);
    }
  }
  if (result.success) problems.push(...shardListProblems(result.data, env));
  if (options.requireToken && !env.DISCORD_TOKEN) {
    problems.unshift('DISCORD_TOKEN is required to run the bot: copy .env.example to .env and set it');
  }
  if (problems.length > 0 || !result.success) throw new ConfigError([...new Set(problems)]);
  return result.data;
}

/** SHARD_LIST against TOTAL_SHARDS: hosts that split the shards must agree on their count. */
function shardListProblems(config: Pick<Config, 'TOTAL_SHARDS' | 'SHARD_LIST'>, env: NodeJS.ProcessEnv): string[] {
  const list = config.SHARD_LIST;
  if (list === undefined) return [];
  const got = `(got ${describe('SHARD_LIST', env['SHARD_LIST'])})`;
  const total = config.TOTAL_SHARDS;
  if (total === 'auto') {
    return [
      `SHARD_LIST needs TOTAL_SHARDS set to a number: every host running a part of the shards must use the same count, and auto may differ ${got}`,
    ];
  }
  const beyond = list.filter((id) => id >= total);
  if (beyond.length === 0) return [];
  const range = total === 1 ? 'only shard 0' : `shards 0 to ${total - 1}`;
  return [`SHARD_LIST names shard ${beyond.join(', ')}, but TOTAL_SHARDS=${total} has ${range} ${got}`];
}

/** Which shard a process is, from what discord.js's ShardingManager gives each shard process. */
export interface ShardIdentity {
  id: number;
  count: number;
}

/**
 * This process's shard: `SHARDS` and `SHARD_COUNT`, which ShardingManager sets in each shard
 * process and discord.js's Client reads by itself (never settings of ours); null when neither
 * is set. The bot runs one shard per process, so SHARDS must name one id.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv): ShardIdentity | null {
  const shards = env['SHARDS'] ?? '';
  const count = (env['SHARD_COUNT'] ?? '').trim();
  if (shards === '' && count === '') return null;
  const id = /^\s*\[?\s*(\d+)\s*\]?\s*$/.exec(shards)?.[1];
  const problems: string[] = [];
  if (id === undefined) {
    problems.push(
      `SHARDS (set by discord.js's ShardingManager, npm run start:sharded) must name one shard id: the bot runs one shard per process (got ${describe('SHARDS', env['SHARDS'])})`,
    );
  }
  if (!/^\d+$/.test(count) || Number(count) < 1) {
    problems.push(
      `SHARD_COUNT (set by discord.js's ShardingManager with SHARDS) must be a whole number from 1 (got ${describe('SHARD_COUNT', env['SHARD_COUNT'])})`,
    );
  } else if (id !== undefined && Number(id) >= Number(count)) {
    problems.push(`SHARDS names shard ${id}, but SHARD_COUNT=${count} has no such shard`);
  }
  if (problems.length > 0 || id === undefined) throw new ConfigError(problems);
  return { id: Number(id), count: Number(count) };
}

function describe(key: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (key === 'DISCORD_TOKEN' || key === 'WEB_SECRET' || holdsSecretKey(value)) return '[redacted]';
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/**
 * AGE_RECIPIENTS' checksums, which loadConfig (synchronous, without the age package) leaves
 * alone: checked once at start, so a mistyped key stops the bot instead of every transfer.
 */
export async function checkRecipientKeys(config: Pick<Config, 'AGE_RECIPIENTS'>): Promise<void> {
  const problems: string[] = [];
  for (const key of config.AGE_RECIPIENTS) {
    await parseRecipient(key).catch(() =>
      problems.push(`AGE_RECIPIENTS holds ${key}, whose checksum does not match: copy it again from age-keygen's output`),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

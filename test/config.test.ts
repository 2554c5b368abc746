/** loadConfig (README, 'Configuration'): defaults, empty keys, every bad key at once, the types it returns. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULTS, loadConfig, shardFromEnv, type Config } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const KEYS = [
  'DISCORD_TOKEN',
  'DISCORD_API_URL',
  'FILES_ROOT',
  'PROGRESS_FILE_PATH',
  'DEFAULT_CHUNK_SIZE_BYTES',
  'MAX_CHUNKS_PER_MESSAGE',
  'MAX_PARALLEL_UPLOADS',
  'PARTS_IN',
  'RETRY_LIMIT_PER_CHUNK',
  'RETRY_BACKOFF_BASE_MS',
  'UPLOAD_TIMEOUT_MS',
  'HASH_ALGO',
  'MAX_FILE_SIZE_BYTES',
  'MAX_ACTIVE_TRANSFERS',
  'ALLOWED_ROLE_IDS',
  'ALLOWED_USER_IDS',
  'UPLOAD_ALLOWED_HOSTS',
  'AGE_RECIPIENTS',
  'URL_HEADERS_TIMEOUT_MS',
  'URL_MIN_BYTES_PER_SECOND',
  'URL_LOW_SPEED_WINDOW_MS',
  'PROGRESS_EDIT_INTERVAL_MS',
  'AUTO_RESUME',
  'RETENTION_HOURS',
  'LOG_LEVEL',
  'LOG_REDACT_FILENAMES',
  'METRICS_PORT',
  'DEV_GUILD_ID',
  'WEB_PORT',
  'WEB_HOST',
  'WEB_PUBLIC_URL',
  'WEB_SECRET',
  'WEB_LINK_TTL_MINUTES',
  'SHARE_MAX_HOURS',
  'AUTO_SHARE_HOURS',
  'WEB_MAX_DOWNLOADS',
  'TOTAL_SHARDS',
  'SHARD_LIST',
  'STAGING_DIR',
  'STAGING_PER_UPLOAD_BYTES',
  'STAGING_MAX_BYTES',
  'SEND_EXPIRY_HOURS',
];

const DOCUMENTED_DEFAULTS = {
  DISCORD_TOKEN: undefined,
  DISCORD_API_URL: 'https://discord.com/api',
  FILES_ROOT: path.resolve('./files'),
  PROGRESS_FILE_PATH: path.resolve('./transfer_progress.json'),
  DEFAULT_CHUNK_SIZE_BYTES: 8_000_000,
  MAX_CHUNKS_PER_MESSAGE: 3,
  MAX_PARALLEL_UPLOADS: 1,
  PARTS_IN: 'thread',
  RETRY_LIMIT_PER_CHUNK: 5,
  RETRY_BACKOFF_BASE_MS: 500,
  UPLOAD_TIMEOUT_MS: 120_000,
  HASH_ALGO: 'sha256',
  MAX_FILE_SIZE_BYTES: 107_374_182_400,
  MAX_ACTIVE_TRANSFERS: 3,
  ALLOWED_ROLE_IDS: [],
  ALLOWED_USER_IDS: [],
  UPLOAD_ALLOWED_HOSTS: [],
  AGE_RECIPIENTS: [],
  URL_HEADERS_TIMEOUT_MS: 30_000,
  URL_MIN_BYTES_PER_SECOND: 1_024,
  URL_LOW_SPEED_WINDOW_MS: 60_000,
  PROGRESS_EDIT_INTERVAL_MS: 5_000,
  AUTO_RESUME: true,
  RETENTION_HOURS: 168,
  LOG_LEVEL: 'info',
  LOG_REDACT_FILENAMES: false,
  METRICS_PORT: undefined,
  DEV_GUILD_ID: undefined,
  WEB_PORT: undefined,
  WEB_HOST: '127.0.0.1',
  WEB_PUBLIC_URL: undefined,
  WEB_SECRET: undefined,
  WEB_LINK_TTL_MINUTES: 15,
  SHARE_MAX_HOURS: 168,
  AUTO_SHARE_HOURS: 24,
  WEB_MAX_DOWNLOADS: 4,
  TOTAL_SHARDS: 'auto',
  SHARD_LIST: undefined,
  STAGING_DIR: path.resolve('./staging'),
  STAGING_PER_UPLOAD_BYTES: 104_857_600,
  STAGING_MAX_BYTES: 2_147_483_648,
  SEND_EXPIRY_HOURS: 24,
};

function problemsOf(env: NodeJS.ProcessEnv, options?: { requireToken?: boolean }): string[] {
  try {
    loadConfig(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('GIVEN an empty environment THEN every key takes its documented default, paths made absolute', () => {
    const config = loadConfig({});
    expect(Object.keys(config)).toEqual(KEYS);
    expect(config).toStrictEqual(DOCUMENTED_DEFAULTS);
  });

  it('GIVEN every key set to an empty string THEN it is as if none were set', () => {
    expect(loadConfig(Object.fromEntries(KEYS.map((k) => [k, ''])))).toStrictEqual(DOCUMENTED_DEFAULTS);
  });

  it('GIVEN unknown keys THEN they are ignored', () => {
    expect(loadConfig({ PATH: '/usr/bin', DISCORD_TOKN: 'typo' })).toStrictEqual(DOCUMENTED_DEFAULTS);
  });

  it('GIVEN a value for every key THEN each is read with its type', () => {
    const config = loadConfig({
      DISCORD_TOKEN: 'token',
      DISCORD_API_URL: 'http://127.0.0.1:3000/api',
      FILES_ROOT: 'shared',
      PROGRESS_FILE_PATH: '/var/lib/dfs/state.json',
      DEFAULT_CHUNK_SIZE_BYTES: '1000',
      MAX_CHUNKS_PER_MESSAGE: '10',
      MAX_PARALLEL_UPLOADS: '8',
      PARTS_IN: 'channel',
      RETRY_LIMIT_PER_CHUNK: '0',
      RETRY_BACKOFF_BASE_MS: '0',
      UPLOAD_TIMEOUT_MS: ' 100 ',
      HASH_ALGO: 'sha256',
      MAX_FILE_SIZE_BYTES: '1',
      MAX_ACTIVE_TRANSFERS: '1000',
      ALLOWED_ROLE_IDS: ' 123456789012345678 ,, 223456789012345678',
      ALLOWED_USER_IDS: '323456789012345678',
      UPLOAD_ALLOWED_HOSTS: 'Files.Example, ,nas.local',
      AGE_RECIPIENTS: ' age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p , ',
      URL_HEADERS_TIMEOUT_MS: '100',
      URL_MIN_BYTES_PER_SECOND: '1',
      URL_LOW_SPEED_WINDOW_MS: '3600000',
      PROGRESS_EDIT_INTERVAL_MS: '0',
      AUTO_RESUME: 'No',
      RETENTION_HOURS: '0',
      LOG_LEVEL: 'silent',
      LOG_REDACT_FILENAMES: 'YES',
      METRICS_PORT: '9464',
      DEV_GUILD_ID: '423456789012345678',
      WEB_PORT: '8080',
      WEB_HOST: '0.0.0.0',
      WEB_PUBLIC_URL: 'https://files.example.org/dfs/',
      WEB_SECRET: 's'.repeat(32),
      WEB_LINK_TTL_MINUTES: '5',
      SHARE_MAX_HOURS: '1',
      AUTO_SHARE_HOURS: '0',
      WEB_MAX_DOWNLOADS: '64',
      TOTAL_SHARDS: ' 4 ',
      SHARD_LIST: ' 3, 0 ,',
      STAGING_DIR: '/var/lib/dfs/staging',
      STAGING_PER_UPLOAD_BYTES: '1048576',
      STAGING_MAX_BYTES: '1073741824',
      SEND_EXPIRY_HOURS: '8760',
    });
    expect(config).toStrictEqual({
      DISCORD_TOKEN: 'token',
      DISCORD_API_URL: 'http://127.0.0.1:3000/api',
      FILES_ROOT: path.resolve('shared'),
      PROGRESS_FILE_PATH: '/var/lib/dfs/state.json',
      DEFAULT_CHUNK_SIZE_BYTES: 1000,
      MAX_CHUNKS_PER_MESSAGE: 10,
      MAX_PARALLEL_UPLOADS: 8,
      PARTS_IN: 'channel',
      RETRY_LIMIT_PER_CHUNK: 0,
      RETRY_BACKOFF_BASE_MS: 0,
      UPLOAD_TIMEOUT_MS: 100,
      HASH_ALGO: 'sha256',
      MAX_FILE_SIZE_BYTES: 1,
      MAX_ACTIVE_TRANSFERS: 1000,
      ALLOWED_ROLE_IDS: ['123456789012345678', '223456789012345678'],
      ALLOWED_USER_IDS: ['323456789012345678'],
      UPLOAD_ALLOWED_HOSTS: ['files.example', 'nas.local'],
      AGE_RECIPIENTS: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'],
      URL_HEADERS_TIMEOUT_MS: 100,
      URL_MIN_BYTES_PER_SECOND: 1,
      URL_LOW_SPEED_WINDOW_MS: 3_600_000,
      PROGRESS_EDIT_INTERVAL_MS: 0,
      AUTO_RESUME: false,
      RETENTION_HOURS: 0,
      LOG_LEVEL: 'silent',
      LOG_REDACT_FILENAMES: true,
      METRICS_PORT: 9464,
      DEV_GUILD_ID: '423456789012345678',
      WEB_PORT: 8080,
      WEB_HOST: '0.0.0.0',
      WEB_PUBLIC_URL: 'https://files.example.org/dfs',
      WEB_SECRET: 's'.repeat(32),
      WEB_LINK_TTL_MINUTES: 5,
      SHARE_MAX_HOURS: 1,
      AUTO_SHARE_HOURS: 0,
      WEB_MAX_DOWNLOADS: 64,
      TOTAL_SHARDS: 4,
      SHARD_LIST: [3, 0],
      STAGING_DIR: '/var/lib/dfs/staging',
      STAGING_PER_UPLOAD_BYTES: 1_048_576,
      STAGING_MAX_BYTES: 1_073_741_824,
      SEND_EXPIRY_HOURS: 8760,
    });
  });

  it('GIVEN every key wrong THEN one ConfigError lists them all, in order, the token first and redacted', () => {
    const problems = problemsOf(
      {
        DISCORD_TOKEN: '',
        DISCORD_API_URL: 'ftp://x',
        FILES_ROOT: '',
        PROGRESS_FILE_PATH: 'state.txt',
        DEFAULT_CHUNK_SIZE_BYTES: '0',
        MAX_CHUNKS_PER_MESSAGE: '11',
        MAX_PARALLEL_UPLOADS: 'x',
        PARTS_IN: 'forum',
        RETRY_LIMIT_PER_CHUNK: '101',
        RETRY_BACKOFF_BASE_MS: '-1',
        UPLOAD_TIMEOUT_MS: '99',
        HASH_ALGO: 'md5',
        MAX_FILE_SIZE_BYTES: '1e9',
        MAX_ACTIVE_TRANSFERS: '0',
        ALLOWED_ROLE_IDS: '123,abc',
        ALLOWED_USER_IDS: '12345678901234567890123',
        UPLOAD_ALLOWED_HOSTS: '',
        AGE_RECIPIENTS: 'age1short,AGE-SECRET-KEY-1X',
        URL_HEADERS_TIMEOUT_MS: '1.5',
        URL_MIN_BYTES_PER_SECOND: '0',
        URL_LOW_SPEED_WINDOW_MS: 'soon',
        PROGRESS_EDIT_INTERVAL_MS: '3600001',
        AUTO_RESUME: 'maybe',
        RETENTION_HOURS: '1000001',
        LOG_LEVEL: 'loud',
        LOG_REDACT_FILENAMES: '2',
        METRICS_PORT: '65536',
        DEV_GUILD_ID: 'guild',
        WEB_PORT: '0',
        WEB_HOST: '',
        WEB_PUBLIC_URL: 'https://files.example.org/?a=1',
        WEB_SECRET: 'short secret',
        WEB_LINK_TTL_MINUTES: '1441',
        SHARE_MAX_HOURS: '8761',
        AUTO_SHARE_HOURS: '8761',
        WEB_MAX_DOWNLOADS: '0',
        TOTAL_SHARDS: '0',
        SHARD_LIST: '0,one',
      },
      { requireToken: true },
    );
    expect(problems).toEqual([
      'DISCORD_TOKEN is required to run the bot: copy .env.example to .env and set it',
      'DISCORD_API_URL Invalid URL (got "ftp://x")',
      'PROGRESS_FILE_PATH must end in .json (got "state.txt")',
      'DEFAULT_CHUNK_SIZE_BYTES Too small: expected number to be >=1 (got "0")',
      'MAX_CHUNKS_PER_MESSAGE Too big: expected number to be <=10 (got "11")',
      'MAX_PARALLEL_UPLOADS must be a whole number (got "x")',
      'PARTS_IN Invalid option: expected one of "thread"|"channel" (got "forum")',
      'RETRY_LIMIT_PER_CHUNK Too big: expected number to be <=100 (got "101")',
      'RETRY_BACKOFF_BASE_MS must be a whole number (got "-1")',
      'UPLOAD_TIMEOUT_MS Too small: expected number to be >=100 (got "99")',
      'HASH_ALGO only sha256 is supported (got "md5")',
      'MAX_FILE_SIZE_BYTES must be a whole number (got "1e9")',
      'MAX_ACTIVE_TRANSFERS Too small: expected number to be >=1 (got "0")',
      'ALLOWED_ROLE_IDS must be a Discord id (15 to 21 digits) (got "123,abc")',
      'ALLOWED_USER_IDS must be a Discord id (15 to 21 digits) (got "12345678901234567890123")',
      'AGE_RECIPIENTS must be age public keys (age1 followed by 58 letters and digits), comma-separated (got [redacted])',
      'AGE_RECIPIENTS holds an age secret key (AGE-SECRET-KEY-1…), not shown: list public keys (age1…, printed by age-keygen -y <key file>) (got [redacted])',
      'URL_HEADERS_TIMEOUT_MS must be a whole number (got "1.5")',
      'URL_MIN_BYTES_PER_SECOND Too small: expected number to be >=1 (got "0")',
      'URL_LOW_SPEED_WINDOW_MS must be a whole number (got "soon")',
      'PROGRESS_EDIT_INTERVAL_MS Too big: expected number to be <=3600000 (got "3600001")',
      'AUTO_RESUME must be true or false (got "maybe")',
      'RETENTION_HOURS Too big: expected number to be <=1000000 (got "1000001")',
      'LOG_LEVEL Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got "loud")',
      'LOG_REDACT_FILENAMES must be true or false (got "2")',
      'METRICS_PORT Too big: expected number to be <=65535 (got "65536")',
      'DEV_GUILD_ID must be a Discord id (15 to 21 digits) (got "guild")',
      'WEB_PORT Too small: expected number to be >=1 (got "0")',
      'WEB_PUBLIC_URL must be a base URL without a query or fragment (got "https://files.example.org/?a=1")',
      'WEB_SECRET must be at least 32 characters (got [redacted])',
      'WEB_LINK_TTL_MINUTES Too big: expected number to be <=1440 (got "1441")',
      'SHARE_MAX_HOURS Too big: expected number to be <=8760 (got "8761")',
      'AUTO_SHARE_HOURS Too big: expected number to be <=8760 (got "8761")',
      'WEB_MAX_DOWNLOADS Too small: expected number to be >=1 (got "0")',
      'TOTAL_SHARDS must be auto or at least 1 (got "0")',
      'SHARD_LIST must be shard ids (whole numbers from 0) separated by commas, e.g. 0,1 (got "0,one")',
    ]);
  });

  it('GIVEN MAX_PARALLEL_UPLOADS above 8 THEN it is refused with why 8 is the most; 8 is taken', () => {
    expect(problemsOf({ MAX_PARALLEL_UPLOADS: '9' })).toEqual([
      "MAX_PARALLEL_UPLOADS is at most 8: with PARTS_IN=thread each is a lane, a thread of the transfer; every lane's messages count " +
        'against Discord\'s global limit of 50 requests a second for the whole bot, and each lane holds one message\'s body in flight (memory) (got "9")',
    ]);
    expect(loadConfig({ MAX_PARALLEL_UPLOADS: '8' }).MAX_PARALLEL_UPLOADS).toBe(8);
  });

  it('GIVEN a bad token THEN its value is never shown', () => {
    expect(problemsOf({ DISCORD_TOKEN: ['secret'] as unknown as string })).toEqual([
      'DISCORD_TOKEN Invalid input: expected string, received array (got [redacted])',
    ]);
  });

  it('GIVEN requireToken and no token THEN only that is refused', () => {
    expect(problemsOf({}, { requireToken: true })).toEqual(['DISCORD_TOKEN is required to run the bot: copy .env.example to .env and set it']);
    expect(loadConfig({ DISCORD_TOKEN: 'token' }, { requireToken: true }).DISCORD_TOKEN).toBe('token');
  });

  it('GIVEN a very long bad value THEN the message shows its first 60 characters', () => {
    expect(problemsOf({ LOG_LEVEL: 'x'.repeat(70) })).toEqual([
      `LOG_LEVEL Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got "${'x'.repeat(60)}…")`,
    ]);
  });

  it('GIVEN an empty environment THEN DEFAULTS, which other modules fall back on, is what an unset key gets', () => {
    const config = loadConfig({});
    for (const [key, value] of Object.entries(DEFAULTS)) {
      const expected = key === 'FILES_ROOT' || key === 'PROGRESS_FILE_PATH' || key === 'STAGING_DIR' ? path.resolve(String(value)) : value;
      expect(config[key as keyof Config], key).toStrictEqual(expected);
    }
  });

  it('GIVEN .env.example copied as it is THEN every key it shows is the default', () => {
    const example = dotenv.parse(readFileSync(fileURLToPath(new URL('../.env.example', import.meta.url)), 'utf8'));
    expect(Object.keys(example)).toEqual(KEYS);
    expect(loadConfig(example)).toStrictEqual(DOCUMENTED_DEFAULTS);
  });

  it('GIVEN the schema THEN the Config type it produces is what the rest of the code reads', () => {
    expectTypeOf<Config>().toEqualTypeOf<{
      DISCORD_TOKEN?: string | undefined;
      DISCORD_API_URL: string;
      FILES_ROOT: string;
      PROGRESS_FILE_PATH: string;
      DEFAULT_CHUNK_SIZE_BYTES: number;
      MAX_CHUNKS_PER_MESSAGE: number;
      MAX_PARALLEL_UPLOADS: number;
      PARTS_IN: 'thread' | 'channel';
      RETRY_LIMIT_PER_CHUNK: number;
      RETRY_BACKOFF_BASE_MS: number;
      UPLOAD_TIMEOUT_MS: number;
      HASH_ALGO: 'sha256';
      MAX_FILE_SIZE_BYTES: number;
      MAX_ACTIVE_TRANSFERS: number;
      ALLOWED_ROLE_IDS: string[];
      ALLOWED_USER_IDS: string[];
      UPLOAD_ALLOWED_HOSTS: string[];
      AGE_RECIPIENTS: string[];
      URL_HEADERS_TIMEOUT_MS: number;
      URL_MIN_BYTES_PER_SECOND: number;
      URL_LOW_SPEED_WINDOW_MS: number;
      PROGRESS_EDIT_INTERVAL_MS: number;
      AUTO_RESUME: boolean;
      RETENTION_HOURS: number;
      LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
      LOG_REDACT_FILENAMES: boolean;
      METRICS_PORT?: number | undefined;
      DEV_GUILD_ID?: string | undefined;
      WEB_PORT?: number | undefined;
      WEB_HOST: string;
      WEB_PUBLIC_URL?: string | undefined;
      WEB_SECRET?: string | undefined;
      WEB_LINK_TTL_MINUTES: number;
      SHARE_MAX_HOURS: number;
      AUTO_SHARE_HOURS: number;
      WEB_MAX_DOWNLOADS: number;
      TOTAL_SHARDS: 'auto' | number;
      SHARD_LIST?: number[] | undefined;
      STAGING_DIR: string;
      STAGING_PER_UPLOAD_BYTES: number;
      STAGING_MAX_BYTES: number;
      SEND_EXPIRY_HOURS: number;
    }>();
  });
});

describe('the sharding keys', () => {
  it('GIVEN TOTAL_SHARDS auto (any case) or a whole number THEN it is read as such; anything else is refused', () => {
    expect(loadConfig({ TOTAL_SHARDS: 'AUTO' }).TOTAL_SHARDS).toBe('auto');
    expect(loadConfig({ TOTAL_SHARDS: '2' }).TOTAL_SHARDS).toBe(2);
    expect(problemsOf({ TOTAL_SHARDS: 'two' })).toEqual(['TOTAL_SHARDS must be auto or a whole number (got "two")']);
    expect(problemsOf({ TOTAL_SHARDS: '1.5' })).toEqual(['TOTAL_SHARDS must be auto or a whole number (got "1.5")']);
  });

  it.each([
    ['0,5', '2', 'SHARD_LIST names shard 5, but TOTAL_SHARDS=2 has shards 0 to 1 (got "0,5")'],
    ['1', '1', 'SHARD_LIST names shard 1, but TOTAL_SHARDS=1 has only shard 0 (got "1")'],
    ['1,0,1', '2', 'SHARD_LIST names shard 1 more than once (got "1,0,1")'],
    ['0,x', '2', 'SHARD_LIST must be shard ids (whole numbers from 0) separated by commas, e.g. 0,1 (got "0,x")'],
    ['-1', '2', 'SHARD_LIST must be shard ids (whole numbers from 0) separated by commas, e.g. 0,1 (got "-1")'],
    ['0 1', '2', 'SHARD_LIST must be shard ids (whole numbers from 0) separated by commas, e.g. 0,1 (got "0 1")'],
    [' , ', '2', 'SHARD_LIST must name at least one shard id (got " , ")'],
    [
      '0',
      'auto',
      'SHARD_LIST needs TOTAL_SHARDS set to a number: every host running a part of the shards must use the same count, and auto may differ (got "0")',
    ],
  ])('GIVEN SHARD_LIST=%j with TOTAL_SHARDS=%s THEN it is refused, saying why', (list, total, problem) => {
    expect(problemsOf({ SHARD_LIST: list, TOTAL_SHARDS: total })).toEqual([problem]);
  });

  it('GIVEN SHARD_LIST within TOTAL_SHARDS THEN the ids are kept in the order given', () => {
    expect(loadConfig({ TOTAL_SHARDS: '8', SHARD_LIST: '7, 2,3' }).SHARD_LIST).toEqual([7, 2, 3]);
  });

  it('GIVEN {shard} in WEB_PUBLIC_URL, in its host, path or port THEN it is accepted and kept for each shard to fill in', () => {
    for (const url of ['https://shard{shard}.files.example.org', 'https://files.example.org/{shard}', 'http://127.0.0.1:808{shard}']) {
      expect(loadConfig({ WEB_PUBLIC_URL: `${url}/` }).WEB_PUBLIC_URL).toBe(url);
    }
    expect(problemsOf({ WEB_PUBLIC_URL: 'files/{shard}' })).toEqual(['WEB_PUBLIC_URL Invalid URL (got "files/{shard}")']);
  });
});

describe('shardFromEnv', () => {
  it('GIVEN neither SHARDS nor SHARD_COUNT THEN the process is no shard', () => {
    expect(shardFromEnv({})).toBeNull();
    expect(shardFromEnv({ SHARDS: '', SHARD_COUNT: '' })).toBeNull();
  });

  it('GIVEN SHARDS and SHARD_COUNT as ShardingManager sets them THEN the shard id and count', () => {
    expect(shardFromEnv({ SHARDS: '1', SHARD_COUNT: '2', SHARDING_MANAGER: 'true' })).toEqual({ id: 1, count: 2 });
    expect(shardFromEnv({ SHARDS: '[0]', SHARD_COUNT: '1' })).toEqual({ id: 0, count: 1 });
  });

  it.each([
    [{ SHARDS: '[0,1]', SHARD_COUNT: '2' }, /SHARDS .* must name one shard id: the bot runs one shard per process \(got "\[0,1\]"\)/],
    [{ SHARDS: '0' }, /SHARD_COUNT .* must be a whole number from 1 \(got nothing\)/],
    [{ SHARD_COUNT: '2' }, /SHARDS .* must name one shard id/],
    [{ SHARDS: '2', SHARD_COUNT: '2' }, /SHARDS names shard 2, but SHARD_COUNT=2 has no such shard/],
  ])('GIVEN %j THEN a ConfigError says what is wrong', (env, problem) => {
    expect(() => shardFromEnv(env)).toThrow(ConfigError);
    expect(() => shardFromEnv(env)).toThrow(problem);
  });
});

/**
 * The bot's parts wired together: the progress store (locked before connecting), the
 * discord.js client, the transfer runner with its Discord pieces, and the interaction router.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { Events, type Client, type REST } from 'discord.js';
import { Closers } from './closers.js';
import type { Config, ShardIdentity } from './config.js';
import { DiskWriteError, ShutdownError, type GatewayClosedError } from './errors.js';
import { LogRedactions, sourceNames, type Logger } from './log.js';
import { FileStore } from './store/file-store.js';
import { lockPathFor } from './store/lock.js';
import { createClient, createUploadClients, fatalGatewayClose } from './discord/client.js';
import { DiscordSink } from './discord/sink.js';
import { clientThreads } from './discord/threads.js';
import { DiscordDownloader } from './discord/download.js';
import { DiscordProgressMessages, type ProgressMessageOptions } from './discord/progress-message.js';
import { TransferRunner } from './transfer/runner.js';
import { urlLimits } from './transfer/url/speed.js';
import { routeInteraction } from './commands/router.js';
import type { BotContext } from './commands/types.js';
import { startMetrics } from './metrics/index.js';
import type { Metrics } from './metrics/types.js';
import { startWebPage, type WebPage } from './web/index.js';
import { SendUploads } from './send/uploads.js';
import { usedLinksPathFor } from './web/used-links.js';
import { transfersOfOtherShards } from './sharding/layout.js';

/** Interrupted transfers resume this soon after connecting (README, 'What survives what': within 5 seconds). */
const AUTO_RESUME_DELAY_MS = 1_000;
/** SIGTERM must end the process within 10 s whatever the network does: every step of a stop fits in this. */
const SHUTDOWN_DEADLINE_MS = 9_000;
/** Of which the runs get this long to settle (their in-flight grace is 5 s); the rest is for saving and disconnecting. */
const TRANSFERS_DEADLINE_MS = 7_000;
/** Finished transfers past RETENTION_HOURS are removed at start-up and then this often. */
const PRUNE_INTERVAL_MS = 3_600_000;

export interface Bot {
  client: Client;
  context: BotContext;
  /** Interrupts the transfers, saves, disconnects; within SHUTDOWN_DEADLINE_MS, else a ShutdownError. */
  stop(): Promise<void>;
}

export interface BotOptions {
  /** Discord closed the gateway for good once the bot was up (already logged): stop, and exit 1. */
  onFatal?: (error: GatewayClosedError) => void;
  /** LOG_REDACT_FILENAMES: the logger's list of names to hash, which the bot fills as it learns them. */
  redactions?: LogRedactions;
  /** Which shard of `npm run start:sharded` this bot is; unset: unsharded. */
  shard?: ShardIdentity | null;
}

export async function startBot(config: Config, log: Logger, options: BotOptions = {}): Promise<Bot> {
  const token = config.DISCORD_TOKEN;
  if (!token) throw new Error('DISCORD_TOKEN is required');
  const redactions = options.redactions ?? new LogRedactions(false);
  // Before anything can log them (a refused progress file names itself).
  redactions.add(config.FILES_ROOT, config.PROGRESS_FILE_PATH, lockPathFor(config.PROGRESS_FILE_PATH), usedLinksPathFor(config.PROGRESS_FILE_PATH));
  // A fresh install has no files folder yet: make it, so /split explains "no such file" rather than a missing root.
  await mkdir(config.FILES_ROOT, { recursive: true });
  redactions.add(await realpath(config.FILES_ROOT));

  // Closed in the reverse order of adding, on a failed start as on a stop. Made first (making
  // them talks to no one), the Discord clients close last: the progress file is saved before
  // discord.js's close, which can wait 30 s on a gateway that stopped answering.
  const closers = new Closers(log);
  const client = createClient(config);
  closers.add('discord', () => client.destroy());
  const clients = createUploadClients(config, token);
  closers.add('upload clients', () => closeClients(clients));
  // discord.js gives up on these closes without a word: say why, and let the process stop.
  // An object, not a `let`: it is set in an event handler, which the type checker cannot follow.
  const closed: { fatal: GatewayClosedError | null; up: boolean } = { fatal: null, up: false };
  try {
    const { context, metrics } = await startParts(config, log, { client, clients, closers, redactions, shard: options.shard ?? null });
    wireClient({ client, clients, context, metrics, closed }, options.onFatal);
    await client.login(token);
    closed.up = true;
    return { client, context, stop: stopper(closers, log) };
  } catch (error) {
    await closers.closeAll(SHUTDOWN_DEADLINE_MS);
    // A refused IDENTIFY rejects login with a bare "Authentication failed": name the code.
    throw closed.fatal ?? error;
  }
}

interface Parts {
  client: Client;
  clients: REST[];
  closers: Closers;
  redactions: LogRedactions;
  shard: ShardIdentity | null;
}

/** The store (locked before connecting), metrics, the runner and the web page, each adding its closer as it starts. */
async function startParts(
  config: Config,
  log: Logger,
  { client, clients, closers, redactions, shard }: Parts,
): Promise<{ context: BotContext; metrics: Metrics | undefined }> {
  // Lock and validate the progress file before anything talks to Discord.
  const store = await FileStore.open(config.PROGRESS_FILE_PATH);
  closers.add('progress file', async () => {
    try {
      await store.close();
    } finally {
      if (store.refusal) {
        log.warn(
          { err: store.refusal },
          'the disk still refuses the progress file: its last good state stays, and the next start finds parts posted since then in the channel',
        );
      }
    }
  });
  for (const t of store.list()) redactions.add(t.file_name, ...sourceNames(t.source));
  const metricsEndpoint = await startMetrics(config.METRICS_PORT, store, log);
  closers.add('metrics', async () => metricsEndpoint?.close());
  const stopPruning = await startPruning(config, store, log);
  closers.add('pruning', stopPruning);
  // Uploads from members' computers come through the web page: staging exists only with it.
  const uploads = config.WEB_PORT === undefined ? undefined : await SendUploads.start(config, { store, log });
  if (uploads)
    closers.add('upload expiry', () => {
      uploads.close();
      return Promise.resolve();
    });
  // The web page starts after the runner (it needs it): a complete transfer's Download button asks it then.
  let web: WebPage | null = null;
  const transfers = createRunner(config, log, { client, clients, store, redactions, metrics: metricsEndpoint?.metrics, uploads }, (t, max) =>
    web ? web.buttonLink(t, max) : null,
  );
  const interrupted = await transfers.markInterrupted();
  if (interrupted.length > 0) log.info({ transfers: interrupted }, 'transfers left running by the last process are now interrupted');
  // After markInterrupted: the first look for idle uploads runs at once.
  uploads?.startExpiry(async (id, idleMs) => {
    const hours = Math.round(idleMs / 3_600_000);
    await store.update(
      id,
      (t) => void t.notes.push(`the upload received nothing for ${hours} h (SEND_EXPIRY_HOURS=${config.SEND_EXPIRY_HOURS}): cancelled`),
    );
    await transfers.cancel(id, { deletePosted: false });
  });
  if (store.refusal) {
    log.warn(
      { err: store.refusal },
      'the disk refuses the progress file: the bot starts all the same, holding its changes in memory and writing them, then resuming transfers, once it can',
    );
  }
  const strays = shard ? transfersOfOtherShards(store.summaries(), shard) : [];
  if (strays.length > 0) {
    log.warn(
      { event: 'transfers_of_other_shards', transfers: strays },
      'unfinished transfers of guilds now on other shards (TOTAL_SHARDS changed): they resume here, but /status, /cancel and /resume in their guilds reach the other shard',
    );
  }
  // Download links read the parts back as `join --channel` does, through the bot's REST client.
  const openFetcher = (signal: AbortSignal) =>
    new DiscordDownloader({ rest: client.rest, retryLimit: config.RETRY_LIMIT_PER_CHUNK, backoffBaseMs: config.RETRY_BACKOFF_BASE_MS, signal });
  web = await startWebPage(config, { store, transfers, log, openFetcher, uploads });
  closers.add('web page', async () => web?.close());
  // Added last, so a stop begins here: the runs settle while everything they use is still open,
  // and no prune starts meanwhile (its own closer, later, then finds it stopped).
  closers.add(
    'transfers',
    () => {
      stopPruning();
      return transfers.shutdown();
    },
    TRANSFERS_DEADLINE_MS,
  );
  return { context: { config, store, transfers, log, redactions, web }, metrics: metricsEndpoint?.metrics };
}

/** Prunes finished transfers now and every PRUNE_INTERVAL_MS; resolves with what stops it. */
async function startPruning(config: Config, store: FileStore, log: Logger): Promise<() => void> {
  const prune = async () => {
    const pruned = await store.prune(config.RETENTION_HOURS * 3_600_000);
    if (pruned.length > 0) log.info({ pruned }, 'pruned finished transfers past RETENTION_HOURS');
  };
  const pruneFailed = (error: unknown) => log.warn({ err: error }, 'prune failed');
  // A prune the disk refused is dropped, not held: it runs again once a write succeeds. Set
  // before the runner's own listener, so the prune is written before resumed transfers write.
  // Not once the bot is stopping: the store's last write may succeed inside its close.
  let pruning = true;
  store.onWritable(() => {
    if (pruning) void prune().catch(pruneFailed);
  });
  // A disk that refuses the progress file pauses the bot's writes; it must not stop its start.
  await prune().catch((error: unknown) => {
    if (!(error instanceof DiskWriteError)) throw error;
    pruneFailed(error);
  });
  const pruneTimer = setInterval(() => void prune().catch(pruneFailed), PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  return () => {
    pruning = false;
    clearInterval(pruneTimer);
  };
}

/** The runner with its Discord pieces: the sink posting parts through the upload clients, the progress messages. */
function createRunner(
  config: Config,
  log: Logger,
  deps: {
    client: Client;
    clients: REST[];
    store: FileStore;
    redactions: LogRedactions;
    metrics: Metrics | undefined;
    uploads: SendUploads | undefined;
  },
  downloadLink: ProgressMessageOptions['downloadLink'],
): TransferRunner {
  const { client, clients, store, metrics } = deps;
  // Messages wait for their channel's bucket before their last bytes go (src/discord/bucket.ts).
  const sink = new DiscordSink(client.rest, () => client.user?.id, clients, {
    lanes: config.MAX_PARALLEL_UPLOADS,
    onRateLimitWait: (_channelId, ms) =>
      rateLimitWait(log, metrics, { route: '/channels/:id/messages', retry_after_ms: ms, global: false, scope: 'user' }),
  });
  const threads = clientThreads(client, store, log, config);
  return new TransferRunner({
    store,
    sink,
    log,
    progress: new DiscordProgressMessages({
      rest: client.rest,
      store,
      log,
      editIntervalMs: config.PROGRESS_EDIT_INTERVAL_MS,
      retryLimit: config.RETRY_LIMIT_PER_CHUNK,
      backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
      downloadLink,
      threads,
    }),
    deletePosted: (transfer, messages) => threads.deletePosted(transfer, messages),
    orchestrator: {
      maxChunksPerMessage: config.MAX_CHUNKS_PER_MESSAGE,
      maxParallelUploads: config.MAX_PARALLEL_UPLOADS,
      retryLimit: config.RETRY_LIMIT_PER_CHUNK,
      backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
      // A held request idle longer than a request may take is likely dropped on the way anyway.
      holdForRetryMs: config.UPLOAD_TIMEOUT_MS,
      maxFileSizeBytes: config.MAX_FILE_SIZE_BYTES,
    },
    url: { allowedHosts: config.UPLOAD_ALLOWED_HOSTS, maxFileSize: config.MAX_FILE_SIZE_BYTES, ...urlLimits(config) },
    metrics,
    redactions: deps.redactions,
    send: deps.uploads,
  });
}

interface RateLimitWait {
  route: string;
  retry_after_ms: number;
  global: boolean;
  scope: string;
}

function rateLimitWait(log: Logger, metrics: Metrics | undefined, info: RateLimitWait): void {
  metrics?.rateLimitWait();
  log.info(info, 'rate_limited');
}

/** The client's events: interactions to the router, errors logged, a fatal gateway close, and resuming once ready. */
function wireClient(
  parts: {
    client: Client;
    clients: readonly REST[];
    context: BotContext;
    metrics: Metrics | undefined;
    /** Set here on a fatal gateway close; `up` once the login succeeded. */
    closed: { fatal: GatewayClosedError | null; up: boolean };
  },
  onFatal: BotOptions['onFatal'],
): void {
  const { client, clients, context, metrics, closed } = parts;
  const { config, log, transfers } = context;
  client.on(Events.InteractionCreate, (interaction) => {
    void routeInteraction(interaction, context).catch((error: unknown) => log.error({ err: error }, 'interaction handler failed'));
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardError, (error, shardId) => log.error({ err: error, shard_id: shardId }, 'discord gateway error'));
  client.on(Events.ShardDisconnect, ({ code }, shardId) => {
    const error = fatalGatewayClose(code);
    if (!error || closed.fatal) return;
    closed.fatal = error;
    log.fatal({ event: 'gateway_closed', close_code: code, shard_id: shardId }, `${error.message}; stopping`);
    if (closed.up) onFatal?.(error);
  });
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord client warning'));
  for (const rest of [client.rest, ...clients]) {
    rest.on('rateLimited', (info) =>
      rateLimitWait(log, metrics, { route: info.route, retry_after_ms: info.retryAfter, global: info.global, scope: info.scope }),
    );
  }
  client.once(Events.ClientReady, (ready) => {
    log.info(
      { user_id: ready.user.id, guilds: ready.guilds.cache.size, files_root: config.FILES_ROOT, progress_file: config.PROGRESS_FILE_PATH },
      'ready',
    );
    setTimeout(() => {
      if (config.AUTO_RESUME) {
        const resumed = transfers.resumeInterrupted();
        if (resumed.length > 0) log.info({ transfers: resumed }, 'resuming interrupted transfers');
      }
      // After resuming: the transfers running again edit their own messages.
      transfers.showMissedEndStates().then(
        (shown) => {
          if (shown.length > 0) log.info({ transfers: shown }, 'progress messages now show how their transfers ended');
        },
        (error: unknown) => log.warn({ err: error }, 'could not update the progress messages left stale'),
      );
    }, AUTO_RESUME_DELAY_MS).unref();
  });
}

/** Interrupts the transfers, saves, disconnects: every closer, within SHUTDOWN_DEADLINE_MS; once, however often asked. */
function stopper(closers: Closers, log: Logger): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= (async () => {
      log.info('shutting down: stopping dispatch and settling in-flight uploads');
      const failures = await closers.closeAll(SHUTDOWN_DEADLINE_MS);
      if (failures.length > 0) {
        const errors = failures.map((f) => f.error);
        throw new ShutdownError(
          failures.map((f) => f.name),
          { cause: errors.length === 1 ? errors[0] : new AggregateError(errors) },
        );
      }
      log.info('stopped');
    })();
    return stopping;
  };
}

function closeClients(clients: readonly REST[]): void {
  for (const rest of clients) {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}

/**
 * The bot's parts wired together: the progress store (locked before connecting), the
 * discord.js client, the transfer runner with its Discord pieces, and the interaction router.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { Events, type Client, type REST } from 'discord.js';
import type { Config, ShardIdentity } from './config.js';
import { DeadlineError, DiskWriteError, ShutdownError, type GatewayClosedError } from './errors.js';
import { LogRedactions, sourceNames, type Logger } from './log.js';
import { FileStore } from './store/file-store.js';
import { lockPathFor } from './store/lock.js';
import { createClient, createUploadLanes, fatalGatewayClose } from './discord/client.js';
import { DiscordSink } from './discord/sink.js';
import { DiscordDownloader } from './discord/download.js';
import { deleteMessages, DiscordProgressMessages } from './discord/progress-message.js';
import { TransferRunner } from './transfer/runner.js';
import { urlLimits } from './transfer/url/speed.js';
import { routeInteraction } from './commands/router.js';
import type { BotContext } from './commands/types.js';
import { startMetrics } from './metrics/index.js';
import { startWebPage } from './web/index.js';
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
  // Lock and validate the progress file before anything talks to Discord.
  const store = await FileStore.open(config.PROGRESS_FILE_PATH);
  for (const t of store.list()) redactions.add(t.file_name, ...sourceNames(t.source));
  const metricsEndpoint = await startMetrics(config.METRICS_PORT, store, log).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
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
  const stopPruning = () => {
    pruning = false;
    clearInterval(pruneTimer);
  };

  const client = createClient(config);
  const lanes = createUploadLanes(config, token);
  const rateLimitWait = (info: { route: string; retry_after_ms: number; global: boolean; scope: string }) => {
    metricsEndpoint?.metrics.rateLimitWait();
    log.info(info, 'rate_limited');
  };
  // Messages wait for their channel's bucket before their last bytes go (src/discord/bucket.ts).
  const sink = new DiscordSink(client.rest, () => client.user?.id, lanes, {
    onRateLimitWait: (_channelId, ms) => rateLimitWait({ route: '/channels/:id/messages', retry_after_ms: ms, global: false, scope: 'user' }),
  });
  const transfers = new TransferRunner({
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
    }),
    deletePosted: (transfer, messageIds) => deleteMessages(client.rest, log, transfer, messageIds),
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
    metrics: metricsEndpoint?.metrics,
    redactions,
  });
  const interrupted = await transfers.markInterrupted();
  if (interrupted.length > 0) log.info({ transfers: interrupted }, 'transfers left running by the last process are now interrupted');
  if (store.refusal) {
    log.warn(
      { err: store.refusal },
      'the disk refuses the progress file: the bot starts all the same, holding its changes in memory and writing them, then resuming transfers, once it can',
    );
  }
  const strays = options.shard ? transfersOfOtherShards(store.summaries(), options.shard) : [];
  if (strays.length > 0) {
    log.warn(
      { event: 'transfers_of_other_shards', transfers: strays },
      'unfinished transfers of guilds now on other shards (TOTAL_SHARDS changed): they resume here, but /status, /cancel and /resume in their guilds reach the other shard',
    );
  }
  // Download links read the parts back as `join --channel` does, through the bot's REST client.
  const openFetcher = (signal: AbortSignal) =>
    new DiscordDownloader({ rest: client.rest, retryLimit: config.RETRY_LIMIT_PER_CHUNK, backoffBaseMs: config.RETRY_BACKOFF_BASE_MS, signal });
  const web = await startWebPage(config, { store, transfers, log, openFetcher }).catch(async (error: unknown) => {
    stopPruning();
    await metricsEndpoint?.close();
    closeLanes(lanes);
    await store.close();
    throw error;
  });
  const context: BotContext = { config, store, transfers, log, redactions, web };

  client.on(Events.InteractionCreate, (interaction) => {
    void routeInteraction(interaction, context).catch((error: unknown) => log.error({ err: error }, 'interaction handler failed'));
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardError, (error, shardId) => log.error({ err: error, shard_id: shardId }, 'discord gateway error'));
  // discord.js gives up on these closes without a word: say why, and let the process stop.
  // An object, not a `let`: it is set in an event handler, which the type checker cannot follow.
  const closed: { fatal: GatewayClosedError | null } = { fatal: null };
  let up = false;
  client.on(Events.ShardDisconnect, ({ code }, shardId) => {
    const error = fatalGatewayClose(code);
    if (!error || closed.fatal) return;
    closed.fatal = error;
    log.fatal({ event: 'gateway_closed', close_code: code, shard_id: shardId }, `${error.message}; stopping`);
    if (up) options.onFatal?.(error);
  });
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord client warning'));
  for (const rest of [client.rest, ...lanes]) {
    rest.on('rateLimited', (info) => rateLimitWait({ route: info.route, retry_after_ms: info.retryAfter, global: info.global, scope: info.scope }));
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

  try {
    await client.login(token);
  } catch (error) {
    stopPruning();
    await web?.close();
    await metricsEndpoint?.close();
    closeLanes(lanes);
    await store.close();
    await client.destroy();
    // A refused IDENTIFY rejects login with a bare "Authentication failed": name the code.
    throw closed.fatal ?? error;
  }

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      log.info('shutting down: stopping dispatch and settling in-flight uploads');
      stopPruning();
      const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
      const failed: string[] = [];
      const errors: unknown[] = [];
      // Each step gets what is left of the deadline, and a failed step does not skip the next.
      const step = async (name: string, work: () => Promise<unknown>, limitMs = deadline - Date.now()) => {
        try {
          await withDeadline(work(), Math.min(limitMs, deadline - Date.now()), name);
        } catch (error) {
          failed.push(name);
          errors.push(error);
          log.error({ err: error, step: name }, 'shutdown step failed');
        }
      };
      await step('transfers', () => transfers.shutdown(), TRANSFERS_DEADLINE_MS);
      await step('web page', async () => web?.close());
      await step('metrics', async () => metricsEndpoint?.close());
      await step('progress file', () => store.close());
      if (store.refusal) {
        log.warn(
          { err: store.refusal },
          'the disk still refuses the progress file: its last good state stays, and the next start finds parts posted since then in the channel',
        );
      }
      closeLanes(lanes);
      await step('discord', () => client.destroy());
      if (failed.length > 0) throw new ShutdownError(failed, { cause: errors.length === 1 ? errors[0] : new AggregateError(errors) });
      log.info('stopped');
    })();
    return stopping;
  };
  up = true;
  return { client, context, stop };
}

/** `work`, or a rejection once `ms` have passed; the timer is kept so the process stays up to see it. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, Math.max(0, ms))), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function closeLanes(lanes: readonly REST[]): void {
  for (const lane of lanes) {
    lane.clearHashSweeper();
    lane.clearHandlerSweeper();
  }
}

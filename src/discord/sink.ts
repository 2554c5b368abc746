/**
 * The Discord chunk sink: one message per batch of parts, through discord.js's REST client
 * (so its rate-limit handling applies) with a multipart body we build ourselves, which
 * streams the parts from disk (multipart.ts).
 */
import type { StoredTransfer } from '../store/types.js';
import { DiscordAPIError, Routes, SnowflakeUtil, type APIAttachment, type APIMessage, type REST } from 'discord.js';
import { heldBackIn, SinkError } from '../errors.js';
import {
  isSourceChanged,
  sourceChangedError,
  type ChunkSink,
  type OutgoingPart,
  type PostedManifest,
  type PostedPart,
  type Reconciled,
  type SendOptions,
} from '../transfer/sink.js';
import type { Manifest } from '../transfer/manifest.js';
import { DEFAULT_ATTACHMENT_LIMIT, manifestName, partName, partSlice } from '../transfer/plan.js';
import { postingChannelId, transferChannelIds } from '../transfer/part-records.js';
import { compareWithRecord } from '../transfer/resume/reconcile.js';
import { MessageBuckets, readRateLimitHeaders, type BucketSlot } from './bucket.js';
import { classifyRestError } from './classify.js';
import { LanePicker, threadGone, threadRefusal } from './lanes.js';
import { MultipartBody, type MultipartFile } from './multipart.js';
import { RequestPace } from './pace.js';

export interface DiscordSinkOptions {
  /** Told when a message waits for its channel's bucket before its last bytes (ms, at first sight). */
  onRateLimitWait?: (channelId: string, ms: number) => void;
  /** MAX_PARALLEL_UPLOADS: the lanes a transfer's parts are spread over (README, 'Lanes'); default 1. */
  lanes?: number;
  /** The one pace of every message posted (default: Discord's global 50 a second). */
  pace?: RequestPace;
}

export class DiscordSink implements ChunkSink {
  /** `rest` first: with no extra upload clients every request goes through it. */
  readonly #clients: readonly REST[];
  /** Channel → requests in flight on each upload client. */
  readonly #busy = new Map<string, number[]>();
  /** Each channel's message bucket, as the answers to every client's messages tell it. */
  readonly #buckets: MessageBuckets;
  /** The lane each part message goes to. */
  readonly #lanes: LanePicker;
  /** Discord's global limit, kept across the clients (each of which counts only its own). */
  readonly #pace: RequestPace;

  /** `uploadClients`: extra REST clients so messages to one channel can be in flight at once (see createUploadClients). */
  constructor(
    private readonly rest: REST,
    private readonly botUserId: () => string | undefined,
    uploadClients: readonly REST[] = [],
    options: DiscordSinkOptions = {},
  ) {
    this.#clients = [rest, ...uploadClients];
    this.#buckets = new MessageBuckets({ onWait: options.onRateLimitWait });
    this.#lanes = new LanePicker(options.lanes ?? 1, (channelId) => this.#buckets.readyIn(channelId));
    this.#pace = options.pace ?? new RequestPace();
  }

  async sendParts(transfer: StoredTransfer, parts: OutgoingPart[], options: SendOptions): Promise<PostedPart[]> {
    const first = parts[0];
    const last = parts.at(-1);
    if (!first || !last) throw new Error('sendParts needs at least one part');
    const total = transfer.total_chunks ?? '?';
    const range = first === last ? `part ${first.index + 1}` : `parts ${first.index + 1}–${last.index + 1}`;
    const content = `\`${transfer.id}\` ${transfer.file_name} · ${range} of ${total}`;
    // File-backed parts stream from disk into the request; no copy of the part is held.
    const files = parts.map((p) => ({ filename: p.name, source: p }));
    let message: APIMessage;
    try {
      message = await this.#postFor(transfer, content, files, options, 'part');
    } catch (error) {
      if (error instanceof SinkError && error.reason === 'source_changed') throw sourceChangedError(error, parts);
      if (error instanceof SinkError && error.kind === 'too_large') {
        const limit = transfer.attachment_size_limit;
        const sizes = parts.map((p) => `${p.name} (${p.size} bytes)`).join(', ');
        throw new SinkError(
          `Discord refused ${sizes} as too large; the interaction reported an attachment limit of ${limit ?? `none (${DEFAULT_ATTACHMENT_LIMIT} assumed)`} bytes`,
          'too_large',
          'too_large',
          { cause: error },
        );
      }
      throw error;
    }
    return parts.map((part) => {
      const attachment = message.attachments.find((a) => a.filename === part.name);
      if (!attachment) throw new SinkError(`Discord's answer lacks attachment ${part.name}`, 'transient', 'missing_attachment');
      // Where Discord says the message is, which is where a reader must look for it.
      return { index: part.index, channel_id: message.channel_id, message_id: message.id, attachment_id: attachment.id };
    });
  }

  async sendManifest(transfer: StoredTransfer, manifest: Manifest, options: SendOptions): Promise<PostedManifest> {
    const name = manifestName(transfer.file_name);
    const content = [
      `✅ \`${transfer.id}\` **${manifest.file.name}** — ${manifest.file.size} bytes in ${manifest.chunks.length} parts.`,
      `Rebuild: download every \`${transfer.file_name}.part*\` and this manifest, then \`cat ${transfer.file_name}.part* > ${manifest.file.name}\``,
      `or \`discord-file-splitter join ${name}\` (checks every part). sha256: \`${manifest.file.sha256}\``,
      ...(manifest.encryption ? [decryptHint(manifest.file.name, manifest.encryption.recipients.length, name)] : []),
    ].join('\n');
    const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await this.#lanesStillThere(transfer, options.signal);
    const message = await this.#postFor(transfer, content, [{ filename: name, source: text }], options, 'manifest');
    const attachment = message.attachments[0];
    if (!attachment) throw new SinkError(`Discord's answer lacks attachment ${name}`, 'transient', 'missing_attachment');
    return { channel_id: message.channel_id, message_id: message.id, attachment_id: attachment.id };
  }

  /**
   * Reads every channel the transfer recorded (its channel, its threads, the channels of its
   * parts) since the transfer began: a part posted but never recorded (the bot died between
   * Discord's answer and the write) is found by the transfer id in the text of one of the
   * bot's own messages, with the name and size the plan gives that part; a recorded part
   * whose message is gone from its channel is reported missing.
   */
  async reconcile(transfer: StoredTransfer, signal: AbortSignal): Promise<Reconciled> {
    const botId = this.botUserId();
    // Until Discord has said who the bot is, anyone's message could pass for one of its parts.
    if (!botId) throw new SinkError('cannot check the posted parts before Discord has said who the bot is', 'transient', 'bot_unknown');
    const seen = new Map<number, PostedPart>();
    const recorded = new Map(transfer.parts.map((p) => [p.index, p.message_id]));
    const manifestFile = manifestName(transfer.file_name);
    let manifest: Reconciled['manifest'] = null;
    for (const channelId of transferChannelIds(transfer)) {
      const visit = (message: APIMessage) => {
        if (message.author.id !== botId || !message.content.includes(`\`${transfer.id}\``)) return;
        for (const attachment of message.attachments) {
          const posted = { channel_id: message.channel_id, message_id: message.id, attachment_id: attachment.id };
          if (attachment.filename === manifestFile) manifest ??= posted;
          const index = plannedIndex(transfer, attachment);
          // The recorded copy of a part wins over another one found elsewhere.
          if (index !== null && (!seen.has(index) || recorded.get(index) === message.id)) seen.set(index, { index, ...posted });
        }
      };
      await this.#scan(transfer, channelId, signal, visit);
    }
    return compareWithRecord(transfer, seen, manifest);
  }

  /** Every message in `channelId` since the transfer began, oldest page first; a thread that is gone holds none. */
  async #scan(transfer: StoredTransfer, channelId: string, signal: AbortSignal, visit: (message: APIMessage) => void): Promise<void> {
    let after = snowflakeAt(Date.parse(transfer.created_at) - 60_000);
    // Bounded: each page moves `after` forward; a channel has finitely many messages.
    for (let page = 0; page < 100_000; page++) {
      if (signal.aborted) throw new SinkError('reconcile aborted', 'aborted', 'aborted');
      let batch: APIMessage[];
      try {
        batch = (await this.call(
          (own) => this.rest.get(Routes.channelMessages(channelId), { query: new URLSearchParams({ after, limit: '100' }), signal: own }),
          signal,
        )) as APIMessage[];
      } catch (error) {
        // A thread deleted since (a moderator, /cancel): its parts are missing, not a failure of the check.
        if (channelId !== transfer.channel_id && error instanceof SinkError && error.reason === 'http_404') return;
        throw error;
      }
      if (batch.length === 0) return;
      batch.forEach(visit);
      after = batch.reduce((max, m) => (BigInt(m.id) > BigInt(max) ? m.id : max), after);
    }
  }

  /**
   * Before the manifest: every other lane holding a recorded part is still there. A lane a
   * moderator deleted after its last part gets no post that would say so, and a transfer must
   * not end complete with its parts gone.
   */
  async #lanesStillThere(transfer: StoredTransfer, signal: AbortSignal | undefined): Promise<void> {
    const manifestChannel = postingChannelId(transfer);
    const used = new Set(transfer.parts.map((p) => p.channel_id));
    // All at once: with eight lanes, one after another would hold the manifest back by seven round trips.
    const checks = transfer.threads
      .filter(({ id }) => id !== manifestChannel && used.has(id))
      .map(async ({ id }) => {
        try {
          await this.call((own) => this.rest.get(Routes.channel(id), { signal: own }), signal);
        } catch (error) {
          throw error instanceof SinkError && error.reason === 'http_404' ? threadGone(id, error) : error;
        }
      });
    await Promise.all(checks);
  }

  /**
   * Posts a part message in the lane that can take it soonest (a retry where its first attempt
   * went), the manifest in the transfer's own thread; without threads, in its channel. A thread a
   * moderator deleted or locked is said so.
   */
  async #postFor(
    transfer: StoredTransfer,
    content: string,
    files: MultipartFile[],
    options: SendOptions,
    what: 'part' | 'manifest',
  ): Promise<APIMessage> {
    const ticket = what === 'part' ? this.#lanes.take(transfer, options.nonce) : null;
    const channelId = ticket?.channelId ?? postingChannelId(transfer);
    let posted = false;
    try {
      const message = await this.post(channelId, content, files, options);
      posted = true;
      return message;
    } catch (error) {
      throw channelId === transfer.channel_id ? error : threadRefusal(error, channelId);
    } finally {
      ticket?.release(posted);
    }
  }

  private async post(channelId: string, content: string, files: MultipartFile[], options: SendOptions): Promise<APIMessage> {
    const payload = JSON.stringify({
      content,
      nonce: options.nonce,
      enforce_nonce: true,
      attachments: files.map((f, id) => ({ id: String(id), filename: f.filename })),
    });
    // The bucket slot of the body's current iteration (discord.js sends it again after a 429).
    let slot: BucketSlot | null = null;
    const gate = options.completion;
    const form = new MultipartBody({ payload_json: payload }, files, {
      signal: options.signal,
      check: () => gate?.throwIfHeldBack(),
      // Held back until the run lets this message complete (pipeline.ts) and the channel's bucket has room.
      beforeEnd: async () => {
        gate?.bodySent();
        await gate?.waitToComplete();
        try {
          slot = await this.#buckets.acquire(channelId, options.signal, gate?.signal);
        } catch (error) {
          gate?.throwIfHeldBack(); // a stopped run: held back, not a failed upload
          throw error;
        }
        try {
          await this.#pace.acquire(options.signal, gate?.signal);
          gate?.throwIfHeldBack();
        } catch (error) {
          slot.settle(null);
          slot = null;
          gate?.throwIfHeldBack();
          throw error;
        }
      },
      answered: (_status, header) => {
        slot?.settle(readRateLimitHeaders(header));
        slot = null;
      },
    });
    // The least busy client for this channel: a request there queues behind fewer others.
    const busy = this.#busy.get(channelId) ?? this.#clients.map(() => 0);
    this.#busy.set(channelId, busy);
    const client = busy.indexOf(Math.min(...busy));
    busy[client] = (busy[client] ?? 0) + 1;
    try {
      return (await this.call(
        (signal) => this.#clients[client]!.post(Routes.channelMessages(channelId), { body: form, passThroughBody: true, signal }),
        options.signal,
      )) as APIMessage;
    } finally {
      // No answer: it may have been counted.
      (slot as BucketSlot | null)?.settle(null);
      busy[client] = (busy[client] ?? 1) - 1;
      if (busy.every((n) => n === 0)) this.#busy.delete(channelId);
    }
  }

  /**
   * Runs one REST request under a signal of its own that follows `signal`: discord.js adds an
   * abort listener to the signal it is given and never removes it, so sharing the transfer's
   * signal across hundreds of requests would pile listeners on it.
   */
  private async call<T>(request: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const own = signal ? new AbortController() : undefined;
    const follow = () => own?.abort(signal?.reason);
    if (signal?.aborted) follow();
    else signal?.addEventListener('abort', follow, { once: true });
    try {
      return await request(own?.signal);
    } catch (error) {
      if (isSourceChanged(error)) throw sourceChangedError(error);
      // Stopped before its end on purpose: never created, and not a failure of the upload.
      const held = heldBackIn(error);
      if (held) throw held;
      throw sinkError(error, signal);
    } finally {
      signal?.removeEventListener('abort', follow);
    }
  }
}

/** What discord.js threw, as the SinkError that tells a run whether to retry (classifyRestError decides). */
function sinkError(error: unknown, signal?: AbortSignal): SinkError {
  const failure = classifyRestError(error, signal);
  const words: Partial<Record<string, string>> = { aborted: 'upload aborted' };
  const message =
    failure.status === 401 && !(error instanceof DiscordAPIError)
      ? `${failure.message}; restart the bot with a valid DISCORD_TOKEN`
      : (words[failure.reason] ?? failure.message);
  return new SinkError(message, failure.kind, failure.reason, { cause: error });
}

/**
 * The part an attachment is, when its name and size are those the transfer's plan gives that
 * part; else null. Without a known size (an /upload with no Content-Length) only the part
 * size bounds it, and the name's padding is not known either.
 */
function plannedIndex(transfer: StoredTransfer, attachment: APIAttachment): number | null {
  const prefix = `${transfer.file_name}.part`;
  const digits = attachment.filename.startsWith(prefix) ? attachment.filename.slice(prefix.length) : '';
  if (!/^\d{3,}$/.test(digits)) return null;
  const index = Number(digits) - 1;
  const { total_chunks: total, file_size: size, chunk_size_bytes: chunk } = transfer;
  if (index < 0 || (total !== null && (index >= total || attachment.filename !== partName(transfer.file_name, index, total)))) return null;
  if (size === null) return attachment.size > 0 && attachment.size <= chunk ? index : null;
  return index * chunk < size && attachment.size === partSlice(index, size, chunk).size ? index : null;
}

/** The smallest snowflake at a moment: messages after it were created after that time. */
function snowflakeAt(ms: number): string {
  if (ms <= Number(SnowflakeUtil.epoch)) return '0';
  return SnowflakeUtil.generate({ timestamp: Math.floor(ms), increment: 0n, workerId: 0n, processId: 0n }).toString();
}

/** The manifest message's line for an encrypted file: only a recipient's key opens it. */
function decryptHint(ageName: string, recipients: number, manifest: string): string {
  const plain = ageName.replace(/\.age$/, '');
  const whom = recipients === 1 ? 'one recipient' : `${recipients} recipients`;
  return `🔒 Encrypted with age for ${whom}: \`age -d -i key.txt -o ${plain} ${ageName}\`, or \`join ${manifest} --identity key.txt\`.`;
}

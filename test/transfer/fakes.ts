/** Scripted test doubles for the orchestrator: an in-memory ChunkSink and a capturing logger. */
import { createLogger, type Logger } from '../../src/log.js';
import { abortReason } from '../../src/time/sleep.js';
import type { Manifest } from '../../src/transfer/manifest.js';
import type { ChunkSink, OutgoingPart, PostedManifest, PostedPart, SendOptions } from '../../src/transfer/sink.js';
import type { TransferRecord } from '../../src/store/schema.js';

export interface SendCall {
  indices: number[];
  nonce: string;
  attempt: number;
  sizes: number[];
}

/** Decides one send: throw to fail it, return to let it post. */
export type Script = (call: SendCall, signal: AbortSignal) => Promise<void> | void;

export class FakeSink implements ChunkSink {
  readonly calls: SendCall[] = [];
  /** Index → what the sink stored, one entry per successful post (duplicates show up here). */
  readonly posted: { index: number; sha256: string; message_id: string }[] = [];
  readonly manifests: Manifest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  #messages = 0;
  reconcile?: NonNullable<ChunkSink['reconcile']>;

  constructor(private readonly script: Script = () => undefined) {}

  async sendParts(t: TransferRecord, parts: OutgoingPart[], options: SendOptions): Promise<PostedPart[]> {
    const call: SendCall = { indices: parts.map((p) => p.index), nonce: options.nonce, attempt: options.attempt, sizes: parts.map((p) => p.size) };
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.script(call, options.signal);
    } finally {
      this.inFlight--;
    }
    const messageId = `m${++this.#messages}`;
    return parts.map((p) => {
      this.posted.push({ index: p.index, sha256: p.sha256, message_id: messageId });
      return { index: p.index, channel_id: t.channel_id, message_id: messageId, attachment_id: `a${p.index}` };
    });
  }

  async sendManifest(t: TransferRecord, manifest: Manifest): Promise<PostedManifest> {
    this.manifests.push(structuredClone(manifest));
    return { channel_id: t.channel_id, message_id: 'manifest-msg', attachment_id: 'manifest-att' };
  }
}

export interface LogLine {
  event?: string;
  transfer_id?: string;
  chunk?: number | string;
  attempt?: number;
  reason?: string;
  [key: string]: unknown;
}

export function captureLogger(): { log: Logger; lines: LogLine[]; events: (name: string) => LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (line: string) => lines.push(JSON.parse(line) as LogLine) };
  const log = createLogger({ level: 'debug', destination: destination as unknown as NodeJS.WritableStream });
  return { log, lines, events: (name) => lines.filter((l) => l.event === name) };
}

/** A promise resolved by hand, to hold a send open until the test says so. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
    promise.then(resolve, reject);
  });
}

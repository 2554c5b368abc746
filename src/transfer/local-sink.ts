/**
 * A ChunkSink that writes into a local directory (the CLI's `split`): each part as
 * `<dir>/<part name>` and the manifest as `<dir>/<name>.manifest.json`, each file written
 * durably (writeFileDurably: temp file in the same directory, every byte, fsync, rename) so
 * a crash or a full disk never leaves a half-written part under its real name.
 *
 * Local output has no Discord ids. PartRecord needs strings, so parts are recorded with the
 * placeholder LOCAL_ID; the manifest written to disk carries `null` for every message,
 * attachment, guild and channel id instead: a local split has none to name (README, 'Commands').
 */
import path from 'node:path';
import { DurableWriteError, errnoCode, messageOf, SinkError } from '../errors.js';
import { writeFileDurably } from '../fs/durable-write.js';
import type { StoredTransfer } from '../store/types.js';
import type { Manifest } from './manifest.js';
import { manifestName } from './plan.js';
import {
  isSourceChanged,
  partChunks,
  sourceChangedError,
  type ChunkSink,
  type OutgoingPart,
  type PostedManifest,
  type PostedPart,
  type SendOptions,
} from './sink.js';

export const LOCAL_ID = 'local';

/** Errors worth another attempt; anything else (no space, no permission…) will not get better. */
const TRANSIENT_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EINTR']);

export class LocalSink implements ChunkSink {
  constructor(readonly dir: string) {}

  async sendParts(transfer: StoredTransfer, parts: OutgoingPart[], options: SendOptions): Promise<PostedPart[]> {
    const posted: PostedPart[] = [];
    for (const part of parts) {
      if (options.signal.aborted) throw new SinkError('aborted', 'aborted', 'aborted');
      await this.#write(part.name, partChunks(part), part);
      posted.push({ index: part.index, channel_id: transfer.channel_id, message_id: LOCAL_ID, attachment_id: LOCAL_ID });
    }
    return posted;
  }

  async sendManifest(transfer: StoredTransfer, manifest: Manifest, options: SendOptions): Promise<PostedManifest> {
    if (options.signal.aborted) throw new SinkError('aborted', 'aborted', 'aborted');
    const local: Manifest = {
      ...manifest,
      chunks: manifest.chunks.map((c) => ({ ...c, message_id: null, attachment_id: null, channel_id: null })),
      guild_id: null,
      channel_id: null,
    };
    await this.#write(manifestName(manifest.file.name), [Buffer.from(`${JSON.stringify(local, null, 2)}\n`)]);
    return { channel_id: transfer.channel_id, message_id: LOCAL_ID, attachment_id: LOCAL_ID };
  }

  /** `chunks` arrive in pieces for a file-backed part, so a part is never held whole in memory. */
  async #write(name: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, part?: OutgoingPart): Promise<void> {
    if (path.basename(name) !== name || name.startsWith('.'))
      throw new SinkError(`refusing to write ${JSON.stringify(name)}: not a plain file name`, 'fatal', 'bad_name');
    const target = path.join(this.dir, name);
    try {
      await writeFileDurably(target, chunks);
    } catch (err) {
      if (isSourceChanged(err)) throw sourceChangedError(err, part ? [part] : []);
      const code = errnoCode(err) ?? '';
      const message = err instanceof DurableWriteError ? err.message : `writing ${target}: ${messageOf(err)}`;
      throw new SinkError(message, TRANSIENT_CODES.has(code) ? 'transient' : 'fatal', code || 'write_failed', { cause: err });
    }
  }
}

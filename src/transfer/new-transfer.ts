/**
 * The record of a new transfer, ready for `store.create`: the same for `/split`, `/upload`
 * and the CLI `split`, so the three cannot drift apart in what they record.
 */
import { stat } from 'node:fs/promises';
import { UserError } from '../errors.js';
import type { NewTransfer } from '../store/types.js';
import { encryptedName, encryptionRecord, postedSize, type NewEncryption } from './encryption.js';
import { newTransferId, sanitizeName, totalChunks } from './plan.js';
import type { LocalSource } from './source.js';
import type { UrlInfo } from './url/headers.js';

/** Where and how a new transfer goes, whatever its source. */
export interface NewTransferOptions {
  id: string;
  chunkSize: number;
  /** What the interaction reported (`attachment_size_limit`); null off Discord or when it reported none. */
  attachmentSizeLimit: number | null;
  ownerId: string;
  channelId: string;
  guildId: string | null;
  /** Null or absent: posted as it is. */
  encryption?: NewEncryption | null | undefined;
}

/** A local file (/split, the CLI). `name` is the source's own name; an unusable one gives way to the id. */
export function fileTransfer(options: NewTransferOptions, source: LocalSource): NewTransfer {
  const size = options.encryption ? postedSize(options.encryption, source.size) : source.size;
  return record(options, source.relPath, source.size, {
    source: { kind: 'file', path: source.relPath, real_path: source.realPath, size: source.size, mtime_ms: source.mtimeMs },
    file_size: size,
    total_chunks: totalChunks(size, options.chunkSize),
  });
}

/** A remote file (/upload): the size and total are null when the server gave no Content-Length. */
export function urlTransfer(options: NewTransferOptions, url: string, info: UrlInfo): NewTransfer {
  const size = info.size !== null && options.encryption ? postedSize(options.encryption, info.size) : info.size;
  return record(options, info.name, info.size, {
    source: { kind: 'url', url, etag: info.etag, last_modified: info.lastModified, accepts_ranges: info.acceptsRanges, hash_checkpoint: null },
    file_size: size,
    total_chunks: size === null ? null : totalChunks(size, options.chunkSize),
  });
}

/** A file sent from a member's computer (/send, the CLI `send`): `name` and `size` as the sender's client gave them. */
export function sendTransfer(options: NewTransferOptions, name: string, size: number): NewTransfer {
  const posted = options.encryption ? postedSize(options.encryption, size) : size;
  return record(options, name, size, {
    source: { kind: 'send', name, size, hash_checkpoint: null },
    file_size: posted,
    total_chunks: totalChunks(posted, options.chunkSize),
  });
}

/** `file_size` and `total_chunks` describe what is posted: for an encrypted transfer, the age file. */
function record(
  options: NewTransferOptions,
  name: string,
  plainSize: number | null,
  what: Pick<NewTransfer, 'source' | 'file_size' | 'total_chunks'>,
): NewTransfer {
  const fileName = sanitizeName(name, options.id);
  return {
    id: options.id,
    file_name: options.encryption ? encryptedName(fileName) : fileName,
    original_name: name,
    encryption: options.encryption ? encryptionRecord(options.encryption, plainSize) : null,
    ...what,
    chunk_size_bytes: options.chunkSize,
    attachment_size_limit: options.attachmentSizeLimit,
    owner_id: options.ownerId,
    guild_id: options.guildId,
    channel_id: options.channelId,
  };
}

/** A local file as it is now on disk, planned under a fresh id (the CLI and tests). */
export async function planFileTransfer(input: {
  realPath: string;
  relPath: string;
  chunkSize: number;
  ownerId: string;
  channelId: string;
  guildId?: string | null | undefined;
  encryption?: NewEncryption | null | undefined;
}): Promise<NewTransfer> {
  const info = await stat(input.realPath);
  if (!info.isFile()) throw new UserError(`${input.relPath} is not a regular file`);
  const options = {
    id: newTransferId(),
    chunkSize: input.chunkSize,
    attachmentSizeLimit: null,
    ownerId: input.ownerId,
    channelId: input.channelId,
    guildId: input.guildId ?? null,
    encryption: input.encryption ?? null,
  };
  // The name the user asked for, not a symlink target's.
  return fileTransfer(options, { relPath: input.relPath, realPath: input.realPath, size: info.size, mtimeMs: info.mtimeMs });
}

/**
 * The progress file's schema (every field documented in
 * TRANSFER_PROGRESS_FORMAT.md). Objects are loose so fields written by a newer minor
 * version survive a rewrite; optional fields get defaults so older files still load.
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

export const TRANSFER_STATUSES = ['pending', 'in_progress', 'interrupted', 'complete', 'error', 'cancelled'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

const TRANSFER_ID_PATTERN = /^upload_[a-z0-9]{6,12}$/;

const isoDate = z.iso.datetime({ offset: true });
/** A sha256 digest as the progress file and the manifest write it: 64 lowercase hex digits. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest');

export const fileSourceSchema = z.looseObject({
  kind: z.literal('file'),
  /** Path relative to FILES_ROOT as the user gave it; `real_path` is what was read. */
  path: z.string(),
  real_path: z.string(),
  size: z.number().int().nonnegative(),
  mtime_ms: z.number(),
});

export const urlSourceSchema = z.looseObject({
  kind: z.literal('url'),
  url: z.string(),
  etag: z.string().nullable().default(null),
  last_modified: z.string().nullable().default(null),
  accepts_ranges: z.boolean().default(false),
  /**
   * The whole-file hash state after the first `offset` bytes, all confirmed: a resume with a
   * Range request starts there (src/transfer/resume/url.ts).
   */
  hash_checkpoint: z.looseObject({ offset: z.number().int().nonnegative(), state: z.string() }).nullable().default(null),
});

const hashCheckpointSchema = z.looseObject({ offset: z.number().int().nonnegative(), state: z.string() });

/**
 * A file a member sends from their own computer (`/send`, the CLI `send`): the bytes arrive by
 * tus into the staging folder and are posted as they come (src/send/).
 */
const sendSourceSchema = z.looseObject({
  kind: z.literal('send'),
  /** The name the sender's client gave (tus `Upload-Metadata` `filename`), before sanitising. */
  name: z.string(),
  /** The sender's file size (bytes): tus `Upload-Length`. */
  size: z.number().int().positive(),
  /** As for a URL source: the whole-file hash state after `offset` posted bytes, all confirmed; a restart continues there. */
  hash_checkpoint: hashCheckpointSchema.nullable().default(null),
});

const sourceSchema = z.discriminatedUnion('kind', [fileSourceSchema, urlSourceSchema, sendSourceSchema]);

/**
 * An encrypted transfer (TRANSFER_PROGRESS_FORMAT.md, 'Encryption'): what was posted is one
 * age file, and `file_name`, `file_size`, the parts and the hashes describe its bytes. The
 * three secrets let a resumed run make any part again byte for byte; they are erased (null)
 * once the transfer is `complete` or `cancelled`.
 */
export const encryptionSchema = z.looseObject({
  format: z.literal('age-encryption.org/v1'),
  recipients: z.array(z.string()).min(1),
  /** The source's own size (bytes), null while unknown (an /upload without Content-Length). */
  plaintext_size: z.number().int().nonnegative().nullable(),
  /** base64: the age file key, the payload nonce, and the header (stanzas and MAC). */
  file_key: z.string().nullable(),
  payload_nonce: z.string().nullable(),
  header: z.string().nullable(),
});

export const partRecordSchema = z.looseObject({
  index: z.number().int().nonnegative(),
  name: z.string(),
  offset: z.number().int().nonnegative(),
  size: z.number().int().positive(),
  sha256: sha256Hex,
  message_id: z.string(),
  attachment_id: z.string(),
  /** The channel or thread the part's message is in; absent (older records): the transfer's `channel_id`. */
  channel_id: z.string().optional(),
});

/**
 * A thread the bot made for a transfer. Lane 0 is the transfer's own thread, where the
 * manifest goes; lanes 1 and up are the extra threads parts are spread over.
 */
export const threadRecordSchema = z.looseObject({
  id: z.string(),
  lane: z.number().int().nonnegative(),
});

export const transferSchema = z.looseObject({
  id: z.string().regex(TRANSFER_ID_PATTERN, 'must be upload_ followed by 6 to 12 lowercase letters and digits'),
  status: z.enum(TRANSFER_STATUSES),
  source: sourceSchema,
  file_name: z.string().min(1),
  file_size: z.number().int().nonnegative().nullable(),
  file_sha256: sha256Hex.nullable().default(null),
  hash_algo: z.literal('sha256').default('sha256'),
  chunk_size_bytes: z.number().int().positive(),
  /** The per-attachment limit the starting interaction reported (bytes), for error notes. */
  attachment_size_limit: z.number().int().positive().nullable().default(null),
  total_chunks: z.number().int().nonnegative().nullable(),
  /** 0-based indices of the parts Discord has confirmed, ascending. */
  completed_chunks: z.array(z.number().int().nonnegative()).default([]),
  parts: z.array(partRecordSchema).default([]),
  chunk_attempts: z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative()).default({}),
  owner_id: z.string(),
  guild_id: z.string().nullable().default(null),
  channel_id: z.string(),
  progress_message_id: z.string().nullable().default(null),
  /** The channel or thread the progress message is in (a forum post's own thread); null: `channel_id`. */
  progress_channel_id: z.string().nullable().default(null),
  /** Whether the edit showing the end state reached Discord; false: a later start-up makes it again. */
  progress_edit_landed: z.boolean().default(true),
  manifest_message_id: z.string().nullable().default(null),
  /** The channel or thread the manifest message is in; null: `channel_id`. */
  manifest_channel_id: z.string().nullable().default(null),
  /** The threads the bot made for this transfer (none when its parts are in `channel_id`). */
  threads: z.array(threadRecordSchema).default([]),
  /** The source's own name before sanitising (a file's path, an /upload's name); null in records from before it was kept. */
  original_name: z.string().nullable().default(null),
  /** Null: posted as it is. Otherwise how it was encrypted (see encryptionSchema). */
  encryption: encryptionSchema.nullable().default(null),
  /** Download links carry this; `/share revoke` advances it, which ends every link given out before. */
  share_generation: z.number().int().nonnegative().default(0),
  bytes_done: z.number().int().nonnegative().default(0),
  retries: z.number().int().nonnegative().default(0),
  created_at: isoDate,
  updated_at: isoDate,
  started_at: isoDate.nullable().default(null),
  completed_at: isoDate.nullable().default(null),
  notes: z.array(z.string()).default([]),
});

export const progressFileSchema = z.looseObject({
  schema_version: z.number().int().positive(),
  active_transfers: z.array(transferSchema),
});

export type UrlSource = z.output<typeof urlSourceSchema>;
export type PartRecord = z.output<typeof partRecordSchema>;
export type EncryptionRecord = z.output<typeof encryptionSchema>;
export type TransferRecord = z.output<typeof transferSchema>;
export type ProgressFile = z.output<typeof progressFileSchema>;

export function emptyProgressFile(): ProgressFile {
  return { schema_version: SCHEMA_VERSION, active_transfers: [] };
}

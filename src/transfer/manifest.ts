/** The manifest (README, 'Commands'): posted last, also written by the CLI. */
import { z } from 'zod';
import { ManifestError } from '../errors.js';
import { sha256Hex } from '../store/schema.js';
import type { StoredTransfer } from '../store/types.js';
import { partChannelId } from './part-records.js';

export const MANIFEST_FORMAT = 'discord-file-splitter/manifest';

const manifestSchema = z.looseObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(1),
  file: z.looseObject({ name: z.string().min(1), size: z.number().int().nonnegative(), sha256: sha256Hex }),
  /** Present when the file is one age file (README, 'Encryption'); `file` then describes its bytes. */
  encryption: z.looseObject({ format: z.literal('age-encryption.org/v1'), recipients: z.array(z.string()) }).optional(),
  chunk_size: z.number().int().positive(),
  chunks: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      name: z.string().min(1),
      offset: z.number().int().nonnegative(),
      size: z.number().int().positive(),
      sha256: sha256Hex,
      message_id: z.string().nullable().optional(),
      attachment_id: z.string().nullable().optional(),
      /** The channel or thread the part's message is in; absent (older manifests): the channel the manifest is read from. */
      channel_id: z.string().nullable().optional(),
    }),
  ),
  guild_id: z.string().nullable().optional(),
  /** The transfer's channel (where its progress message is); each part's own is in its entry. */
  channel_id: z.string().nullable().optional(),
  transfer_id: z.string().nullable().optional(),
  created_at: z.string(),
  completed_at: z.string(),
});

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestChunk = Manifest['chunks'][number];

/** Refuses a manifest whose parts do not tile the file exactly, before anything is read. */
export function parseManifest(json: unknown): Manifest {
  const manifest = manifestSchema.parse(json);
  let offset = 0;
  manifest.chunks.forEach((chunk, i) => {
    if (chunk.index !== i) throw new ManifestError(`manifest part ${chunk.name}: index ${chunk.index}, expected ${i}`);
    if (chunk.offset !== offset) throw new ManifestError(`manifest part ${chunk.name}: offset ${chunk.offset}, expected ${offset}`);
    if (chunk.name.includes('/') || chunk.name.includes('\\') || chunk.name.startsWith('.')) {
      throw new ManifestError(`manifest part name ${JSON.stringify(chunk.name)} is not a plain file name`);
    }
    offset += chunk.size;
  });
  if (offset !== manifest.file.size) throw new ManifestError(`manifest parts add up to ${offset} bytes, file size is ${manifest.file.size}`);
  return manifest;
}

/**
 * The manifest of a transfer whose every part is recorded, in index order; null when a part
 * is missing (`gaps` says which), so that no manifest ever describes a file it cannot rebuild.
 */
export function buildManifest(
  transfer: StoredTransfer,
  fileSha256: string,
  completedAt: string,
): { manifest: Manifest; gaps: null } | { manifest: null; gaps: string } {
  const parts = [...transfer.parts].sort((a, b) => a.index - b.index);
  const total = transfer.total_chunks ?? parts.length;
  const gaps = Array.from({ length: total }, (_, i) => i).filter((i) => parts[i]?.index !== i);
  if (parts.length !== total || gaps.length > 0) return { manifest: null, gaps: gaps.join(', ') || `${parts.length} of ${total}` };
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    file: { name: transfer.file_name, size: parts.reduce((sum, p) => sum + p.size, 0), sha256: fileSha256 },
    // Only public keys: no hash of the plaintext is published (it would confirm a guess of it).
    ...(transfer.encryption ? { encryption: { format: transfer.encryption.format, recipients: [...transfer.encryption.recipients] } } : {}),
    chunk_size: transfer.chunk_size_bytes,
    chunks: parts.map((p) => ({
      index: p.index,
      name: p.name,
      offset: p.offset,
      size: p.size,
      sha256: p.sha256,
      message_id: p.message_id,
      attachment_id: p.attachment_id,
      channel_id: partChannelId(transfer, p),
    })),
    guild_id: transfer.guild_id,
    channel_id: transfer.channel_id,
    transfer_id: transfer.id,
    created_at: transfer.created_at,
    completed_at: completedAt,
  };
  return { manifest, gaps: null };
}

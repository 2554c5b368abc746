/** The manifest (SPEC section 6): posted last, also written by the CLI. */
import { z } from 'zod';

export const MANIFEST_FORMAT = 'discord-file-splitter/manifest';

/** A sha256 digest as the manifest and the progress file write it: 64 lowercase hex digits. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest');

export const manifestSchema = z.looseObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(1),
  file: z.looseObject({ name: z.string().min(1), size: z.number().int().nonnegative(), sha256: sha256Hex }),
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
    }),
  ),
  guild_id: z.string().nullable().optional(),
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
    if (chunk.index !== i) throw new Error(`manifest part ${chunk.name}: index ${chunk.index}, expected ${i}`);
    if (chunk.offset !== offset) throw new Error(`manifest part ${chunk.name}: offset ${chunk.offset}, expected ${offset}`);
    if (chunk.name.includes('/') || chunk.name.includes('\\') || chunk.name.startsWith('.')) {
      throw new Error(`manifest part name ${JSON.stringify(chunk.name)} is not a plain file name`);
    }
    offset += chunk.size;
  });
  if (offset !== manifest.file.size) throw new Error(`manifest parts add up to ${offset} bytes, file size is ${manifest.file.size}`);
  return manifest;
}

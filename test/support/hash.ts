/** sha256 of bytes in memory or of a file on disk (hex), as the manifest records them. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { MIB } from './units.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads in 1 MiB blocks, so a large file never sits in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: MIB })) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}

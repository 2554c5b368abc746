/**
 * `join --identity FILE` (README, 'Encryption'): the rebuilt age file is opened as it streams,
 * every 64 KiB chunk authenticated before its bytes go out, so the output (a temp file until
 * the end) never holds a byte that did not pass. A key that opens nothing and a chunk that
 * fails name the identity file and the part.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OpeningStream } from '../crypto/age-stream.js';
import { SEALED_CHUNK, unlockAge } from '../crypto/age.js';
import type { WriteChunk } from '../fs/durable-write.js';
import type { Manifest } from '../transfer/manifest.js';
import { AgeChunkError, CliFailure, errnoCode, messageOf, UsageError, UserError } from '../errors.js';

/** A decryption in progress: `write` takes the age file's bytes in order, `end` after the last. */
export interface Decryption {
  write: WriteChunk;
  end(): Promise<void>;
  /** Plaintext bytes written so far. */
  readonly written: number;
}

/** The identity file's text, read before anything else is touched. */
export async function readIdentity(cwd: string, file: string): Promise<{ text: string; name: string }> {
  const full = path.resolve(cwd, file);
  try {
    return { text: await readFile(full, 'utf8'), name: file };
  } catch (err) {
    throw new UsageError(`--identity ${file}: cannot read it (${errnoCode(err) ?? messageOf(err)})`);
  }
}

/** Refuses --identity on a manifest of a file that is not encrypted. */
export function checkEncrypted(manifest: Manifest, where: string): void {
  if (!manifest.encryption) throw new UsageError(`--identity: the manifest ${where} describes a file that is not encrypted; leave --identity out`);
}

/** The plaintext's name: the age file's without `.age`. */
export function plainName(manifest: Manifest): Manifest {
  return { ...manifest, file: { ...manifest.file, name: manifest.file.name.replace(/\.age$/, '') || manifest.file.name } };
}

export function decryptInto(output: WriteChunk, manifest: Manifest, identity: { text: string; name: string }): Decryption {
  const stream = new OpeningStream((start) => unlockAge(start, identity.text, identity.name));
  let written = 0;
  const emit = async (pieces: Buffer[]) => {
    for (const piece of pieces) {
      await output(piece);
      written += piece.length;
    }
  };
  const named = async (step: () => Promise<Buffer[]>) => {
    try {
      await emit(await step());
    } catch (err) {
      if (err instanceof AgeChunkError) throw new CliFailure(`${partAt(manifest, err.offset)}: ${err.message}`, { cause: err });
      if (err instanceof UserError) throw new CliFailure(err.message, { cause: err });
      throw err;
    }
  };
  return {
    write: (chunk) => named(() => stream.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))),
    end: () => named(() => stream.end()),
    get written() {
      return written;
    },
  };
}

/** The report's words: the bytes written and what was verified. */
export function rebuiltWhat(manifest: Manifest, decrypted: number | null, parts?: number): string {
  const checked = `${parts === undefined ? '' : `${parts} part(s), `}sha256 ${manifest.file.sha256} verified`;
  if (decrypted !== null) return `${decrypted} bytes decrypted and authenticated from the ${manifest.file.size}-byte age file, ${checked}`;
  const hint = manifest.encryption ? '; it is encrypted: add --identity KEYFILE to decrypt it' : '';
  return `${manifest.file.size} bytes, ${checked}${hint}`;
}

/** Which part the chunk starting at `offset` of the age file lies in (one or two parts). */
function partAt(manifest: Manifest, offset: number): string {
  const first = manifest.chunks.find((c) => offset >= c.offset && offset < c.offset + c.size) ?? manifest.chunks.at(-1);
  if (!first) return 'the file';
  const next = manifest.chunks[first.index + 1];
  const spans = next !== undefined && offset + SEALED_CHUNK > next.offset;
  return spans ? `part ${first.name} or ${next.name}` : `part ${first.name}`;
}

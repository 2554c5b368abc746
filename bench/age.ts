/**
 * The benchmark's encrypted row (README, 'Encryption'): a recipient for the bot, and the answers
 * an encrypted /split must produce. The transfer's keys are read from the progress file
 * while it runs (they are erased at the end), and the source is sealed here with them, so
 * every posted part is checked against the age file the source encrypts to.
 */
import { readFile } from 'node:fs/promises';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { readParts } from '../src/transfer/chunker.js';
import { sealedSource } from '../src/transfer/encryption.js';
import { encryptedSize } from '../src/crypto/age.js';
import type { StoredTransfer } from '../src/store/types.js';

export interface Answers {
  size: number;
  sha256: string;
  parts: { size: number; sha256: string }[];
}

/** A fresh public key: the bot encrypts to it; nobody here needs the secret. */
export async function benchRecipient(): Promise<string> {
  return identityToRecipient(await generateX25519Identity());
}

/** The transfer's record once it holds its keys (it is written before /split replies). */
export async function recordWithKeys(progressPath: string, id: string, timeoutMs = 10_000): Promise<StoredTransfer> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 0; Date.now() < deadline && n < 1_000; n++) {
    const text = await readFile(progressPath, 'utf8').catch(() => '');
    try {
      const record = (JSON.parse(text) as { active_transfers: StoredTransfer[] }).active_transfers.find((t) => t.id === id);
      if (record?.encryption?.file_key) return record;
    } catch {
      // Between a rename and our read: try again.
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no keys for ${id} in ${progressPath} within ${timeoutMs} ms`);
}

/** The part hashes and whole-file hash of the source's age file under `record`'s keys. */
export async function sealedAnswers(file: string, plainSize: number, record: StoredTransfer, chunkSize: number): Promise<Answers> {
  const sealed = sealedSource(record, plainSize);
  if (!sealed) throw new Error(`${record.id} is not encrypted`);
  const source = readParts(file, { chunkSize, sealed, fileSize: encryptedSize(sealed.keys.prefix.length, plainSize), keepData: false });
  const parts: Answers['parts'] = [];
  for await (const part of source) parts.push({ size: part.size, sha256: part.sha256 });
  return { size: parts.reduce((sum, p) => sum + p.size, 0), sha256: source.wholeFileSha256() ?? '', parts };
}

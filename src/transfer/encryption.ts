/**
 * A transfer's encryption (README, 'Encryption') as the engine uses it: what a new encrypted
 * transfer records, and the keys a run reads its parts with. The cipher itself is
 * src/crypto/.
 */
import { AGE_FORMAT, ageKeys, encryptedSize, newAgeSecrets, type AgeKeys, type AgeSecrets } from '../crypto/age.js';
import type { SealedSource } from '../crypto/sealed-file.js';
import type { EncryptionRecord } from '../store/schema.js';
import type { StoredTransfer } from '../store/types.js';

/** A new transfer's recipients and the fresh secrets made for them. */
export interface NewEncryption {
  recipients: readonly string[];
  secrets: AgeSecrets;
}

/** Secrets for `recipients` (already checked), or null when there are none: no encryption. */
export async function newEncryption(recipients: readonly string[]): Promise<NewEncryption | null> {
  return recipients.length === 0 ? null : { recipients, secrets: await newAgeSecrets(recipients) };
}

/** The name posted for an encrypted file: `<name>.age` (README, 'Encryption'). */
export function encryptedName(name: string): string {
  return `${name}.age`;
}

/** The size of what is posted: the age file of a plaintext of `plainSize` bytes. */
export function postedSize(encryption: NewEncryption, plainSize: number): number {
  return encryptedSize(encryption.secrets.header.length + encryption.secrets.nonce.length, plainSize);
}

export function encryptionRecord(encryption: NewEncryption, plainSize: number | null): EncryptionRecord {
  const { secrets } = encryption;
  return {
    format: AGE_FORMAT,
    recipients: [...encryption.recipients],
    plaintext_size: plainSize,
    file_key: secrets.fileKey.toString('base64'),
    payload_nonce: secrets.nonce.toString('base64'),
    header: secrets.header.toString('base64'),
  };
}

/** The keys a run of this encrypted transfer makes its parts with; null for a plain one. */
export function transferKeys(transfer: StoredTransfer): AgeKeys | null {
  const e = transfer.encryption;
  if (!e) return null;
  if (e.file_key === null || e.payload_nonce === null || e.header === null) {
    throw new Error(`transfer ${transfer.id} is encrypted and its keys were erased: it cannot be sent again`);
  }
  return ageKeys({
    fileKey: Buffer.from(e.file_key, 'base64'),
    nonce: Buffer.from(e.payload_nonce, 'base64'),
    header: Buffer.from(e.header, 'base64'),
  });
}

/** How a file source is read for this transfer: through its encryption, or as it is. */
export function sealedSource(transfer: StoredTransfer, plainSize: number): SealedSource | undefined {
  const keys = transferKeys(transfer);
  return keys === null ? undefined : { keys, plainSize };
}

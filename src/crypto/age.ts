/**
 * The age v1 file format (https://age-encryption.org/v1; README, 'Encryption'), split in two:
 *
 * - the header (one X25519 stanza per recipient, then its MAC) comes from the
 *   `age-encryption` package, which parses `age1…` keys and wraps the file key;
 * - the payload is produced here with node's native ChaCha20-Poly1305 (the package's own
 *   JavaScript cipher runs at about a twelfth of the speed): a 16-byte nonce, then the
 *   plaintext in 64 KiB chunks, each sealed under the payload key with the nonce
 *   `counter (11 bytes, big-endian) ‖ last-chunk flag (1 byte)`.
 *
 * A chunk's ciphertext depends only on the key, its counter, whether it is the last one and
 * its plaintext, so any byte range of the file can be produced again on its own: a resumed
 * part is byte-identical to the first attempt's.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { messageOf, UserError } from '../errors.js';

/** Loaded at first use: the package and its curves cost ~16 MiB of memory a plain transfer never needs. */
const agePackage = () => import('age-encryption');

export const AGE_FORMAT = 'age-encryption.org/v1';
/** Plaintext bytes per payload chunk; the last may be shorter (empty only in an empty file). */
export const AGE_CHUNK = 64 * 1024;
const TAG = 16; // bytes: Poly1305
/** A full chunk as it is stored: its ciphertext and its tag. */
export const SEALED_CHUNK = AGE_CHUNK + TAG;
const PAYLOAD_NONCE = 16; // bytes
const FILE_KEY = 16; // bytes

/** What the payload is made with: everything before the first chunk, and the payload key. */
export interface AgeKeys {
  /** The header, then the payload nonce: the first bytes of the file. */
  prefix: Buffer;
  payloadKey: Buffer;
}

/** What a transfer keeps (base64) so a resumed part is made again byte for byte. */
export interface AgeSecrets {
  fileKey: Buffer;
  header: Buffer;
  nonce: Buffer;
}

/** An X25519 public key: `age1` and 58 bech32 characters (the checksum is checked by the package). */
const RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

/** Whether `key` looks like an X25519 public key (its checksum is parseRecipient's to check). */
export function looksLikeRecipient(key: string): boolean {
  return RECIPIENT.test(key);
}

/** An age secret key (`AGE-SECRET-KEY-1…`, bech32, so in either case), anywhere in a string. */
const SECRET_KEY = /AGE-SECRET-KEY-1/i;

/** Whether `value` holds an age secret key: such a value is never shown back, nor logged. */
export function holdsSecretKey(value: string): boolean {
  return SECRET_KEY.test(value);
}

const SECRET_KEY_REFUSAL =
  'That is an age secret key (`AGE-SECRET-KEY-1…`), which opens everything encrypted to it: it is not shown here, nor kept. ' +
  'Give its public key instead (`age1…`, printed by `age-keygen -y <key file>`); if anyone else may have seen the secret key, make a new one.';

/** A recipient string as given, checked; a malformed one is a UserError naming it (a secret key is never named). */
export async function parseRecipient(input: string): Promise<string> {
  const key = input.trim();
  if (holdsSecretKey(key)) throw new UserError(SECRET_KEY_REFUSAL);
  const shown = key.length > 80 ? `${key.slice(0, 77)}…` : key;
  if (!RECIPIENT.test(key)) {
    throw new UserError(`\`${shown}\` is not an age public key: one looks like \`age1\` followed by 58 letters and digits (made by \`age-keygen\`).`);
  }
  const { Encrypter } = await agePackage();
  try {
    new Encrypter().addRecipient(key);
  } catch {
    throw new UserError(`\`${shown}\` is not a valid age public key (its checksum does not match): copy it again from \`age-keygen\`'s output.`);
  }
  return key;
}

/** The recipients of a transfer: the configured ones and the one asked for, each once, in that order. */
export async function transferRecipients(configured: readonly string[], asked: readonly string[]): Promise<string[]> {
  const all = [...configured];
  for (const key of asked) all.push(await parseRecipient(key));
  return [...new Set(all)];
}

/**
 * A fresh file key and the header that wraps it for `recipients`. The package makes both
 * while it encrypts an empty file: a recipient of our own, called first with the file key,
 * keeps it and adds no stanza. The empty file's last 32 bytes are its payload nonce and its
 * one empty chunk, which must be what sealChunk makes: a check that the two agree.
 */
export async function newAgeSecrets(recipients: readonly string[]): Promise<AgeSecrets> {
  if (recipients.length === 0) throw new Error('age: at least one recipient is needed');
  const { Encrypter } = await agePackage();
  let fileKey: Buffer | null = null;
  const encrypter = new Encrypter();
  encrypter.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = Buffer.from(key);
      return [];
    },
  });
  for (const recipient of recipients) encrypter.addRecipient(await parseRecipient(recipient));
  const empty = Buffer.from(await encrypter.encrypt(new Uint8Array(0)));
  const key = fileKey as Buffer | null;
  if (key?.length !== FILE_KEY) throw new Error('age: the file key was not handed to the capturing recipient');
  const header = empty.subarray(0, empty.length - PAYLOAD_NONCE - TAG);
  const nonce = empty.subarray(header.length, header.length + PAYLOAD_NONCE);
  const secrets = { fileKey: key, header: Buffer.from(header), nonce: Buffer.from(nonce) };
  if (!sealChunk(ageKeys(secrets).payloadKey, 0, Buffer.alloc(0), true).equals(empty.subarray(header.length + PAYLOAD_NONCE))) {
    throw new Error('age: the native payload cipher disagrees with age-encryption');
  }
  return secrets;
}

export function ageKeys(secrets: AgeSecrets): AgeKeys {
  return { prefix: Buffer.concat([secrets.header, secrets.nonce]), payloadKey: payloadKey(secrets.fileKey, secrets.nonce) };
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/** Chunks in a payload of `plainSize` bytes: at least one (an empty file has one empty chunk). */
export function chunkCount(plainSize: number): number {
  return Math.max(1, Math.ceil(plainSize / AGE_CHUNK));
}

/** The encrypted file's size: prefix, then each chunk with its tag. */
export function encryptedSize(prefixLength: number, plainSize: number): number {
  return prefixLength + plainSize + chunkCount(plainSize) * TAG;
}

/** The plaintext size an encrypted file of `size` bytes holds, or null when no plaintext gives that size. */
export function plainSizeOf(prefixLength: number, size: number): number | null {
  const payload = size - prefixLength;
  if (payload < TAG) return null;
  const chunks = Math.ceil(payload / SEALED_CHUNK);
  const plain = payload - chunks * TAG;
  return plain >= 0 && encryptedSize(prefixLength, plain) === size ? plain : null;
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6); // 11 bytes big-endian; 2^48 chunks is far past any file
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Chunk `counter` sealed: its ciphertext, then its 16-byte tag, written into `out` at `at` when given. */
export function sealChunk(key: Buffer, counter: number, plain: Uint8Array, last: boolean, out?: Buffer, at = 0): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  const body = cipher.update(plain);
  cipher.final();
  const tag = cipher.getAuthTag();
  if (out === undefined) return Buffer.concat([body, tag]);
  body.copy(out, at);
  tag.copy(out, at + body.length);
  return out.subarray(at, at + body.length + TAG);
}

/** Chunk `counter` opened, or null when it fails authentication (a wrong key, a changed byte, a wrong position). */
export function openChunk(key: Buffer, counter: number, sealed: Uint8Array, last: boolean): Buffer | null {
  if (sealed.length < TAG) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return body;
}

/** The header's length in `data` (through the MAC line's newline), or null when it has not ended in `data`. */
export function headerLength(data: Buffer): number | null {
  const intro = `${AGE_FORMAT}\n`;
  if (data.length >= intro.length && data.subarray(0, intro.length).toString('latin1') !== intro) {
    throw new UserError('this is not an age file (it does not start with `age-encryption.org/v1`)');
  }
  const mac = data.indexOf('\n--- ');
  if (mac < 0) return null;
  const end = data.indexOf('\n', mac + 1);
  return end < 0 ? null : end + 1;
}

/**
 * The payload keys of an age file whose first bytes are `start` (its header and nonce at
 * least), for the identities in `identityText` (an identity file: `AGE-SECRET-KEY-1…` lines,
 * `#` comments). A key that opens none of the stanzas is a UserError.
 */
export async function unlockAge(start: Buffer, identityText: string, identityName: string): Promise<AgeKeys> {
  const length = headerLength(start);
  if (length === null || start.length < length + PAYLOAD_NONCE) throw new UserError('the age header is incomplete');
  const identities = identityText
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (identities.length === 0) throw new UserError(`${identityName} holds no age identity (an \`AGE-SECRET-KEY-1…\` line)`);
  const { Decrypter } = await agePackage();
  const decrypter = new Decrypter();
  for (const identity of identities) {
    if (!identity.startsWith('AGE-SECRET-KEY-1'))
      throw new UserError(`${identityName} is not an age identity file (a line does not start with AGE-SECRET-KEY-1)`);
    decrypter.addIdentity(identity);
  }
  const header = start.subarray(0, length);
  let fileKey: Uint8Array;
  try {
    fileKey = await decrypter.decryptHeader(header);
  } catch (err) {
    throw new UserError(`the key in ${identityName} does not open this file (${messageOf(err)})`);
  }
  const nonce = start.subarray(length, length + PAYLOAD_NONCE);
  return { prefix: Buffer.from(start.subarray(0, length + PAYLOAD_NONCE)), payloadKey: payloadKey(fileKey, nonce) };
}

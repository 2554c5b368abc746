/**
 * The real `age` tool (Debian package `age`) and the `age-encryption` package, as a recipient
 * would use them to read what was posted. Without the tool its tests skip with a message
 * naming the package, except under CI=true, where they must run (`.ci/run` installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';

export const AGE_BINARY = ['/usr/bin/age', '/usr/local/bin/age'].find((p) => existsSync(p)) ?? null;

export const AGE_MISSING =
  AGE_BINARY === null ? 'the `age` tool is not installed (Debian package `age`: apt-get install age); the interop checks with it are skipped' : null;

/** Under CI the tool must be there: its absence fails rather than skips. */
export const MUST_HAVE_AGE = process.env.CI === 'true';

export interface TestIdentity {
  /** The identity file, as `age-keygen -o` writes it. */
  file: string;
  secret: string;
  recipient: string;
}

/** A fresh X25519 identity written to `<dir>/<name>.txt`. */
export async function newIdentity(dir: string, name = 'key'): Promise<TestIdentity> {
  const secret = await generateX25519Identity();
  const recipient = await identityToRecipient(secret);
  const file = path.join(dir, `${name}.txt`);
  await writeFile(file, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${secret}\n`, { mode: 0o600 });
  return { file, secret, recipient };
}

/** `age -d -i <identity> <file>`: the plaintext, or the tool's error. */
export function ageDecrypt(file: string, identityFile: string): Promise<Buffer> {
  if (AGE_BINARY === null) throw new Error(AGE_MISSING ?? 'age is missing');
  return new Promise((resolve, reject) => {
    execFile(
      AGE_BINARY,
      ['-d', '-i', identityFile, file],
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`age -d failed: ${stderr.toString()}`));
        else resolve(stdout);
      },
    );
  });
}

/** The same with the age-encryption package's own Decrypter. */
export async function libraryDecrypt(bytes: Uint8Array, secret: string): Promise<Buffer> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(secret);
  return Buffer.from(await decrypter.decrypt(bytes));
}

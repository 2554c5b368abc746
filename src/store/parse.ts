/**
 * Reading the progress file: its text parsed and validated (a bad file is reported, never
 * rewritten), read together with the identity of the version read, and turned into the form
 * the store keeps in memory. The identity is how the writer notices, without reading the
 * file, that another process changed it (stale writes: see file-store.ts).
 */
import { promises as fsp, type Stats } from 'node:fs';
import { errnoCode, messageOf, StoreError } from '../errors.js';
import { describeIssues, sealRecord } from './apply.js';
import { progressFileSchema, SCHEMA_VERSION, type ProgressFile, type TransferRecord } from './schema.js';

/** What identifies one version of the file without reading it: a rename changes `ino`. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * Parses and validates the file's text; throws StoreError naming the file and the problem.
 * Never writes anything: a bad file is left for a human to look at.
 */
export function parseProgressText(file: string, text: string): ProgressFile {
  if (text.length === 0) throw new StoreError(file, 'the file is empty (0 bytes), not valid JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoreError(file, `not valid JSON (${messageOf(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreError(file, 'the top level is not a JSON object');
  }
  const version = (value as { schema_version?: unknown }).schema_version;
  if (typeof version === 'number' && version > SCHEMA_VERSION) {
    throw new StoreError(
      file,
      `schema_version ${version} is newer than this version of discord-file-splitter understands (${SCHEMA_VERSION}); upgrade discord-file-splitter`,
    );
  }
  // SCHEMA_VERSION 1 is the first format there has ever been, so a lower one was not written
  // by a release and there is nothing to upgrade from. A release that raises SCHEMA_VERSION
  // ships its upgrade command and names it here (TRANSFER_PROGRESS_FORMAT.md, 'Evolution').
  if (typeof version === 'number' && version < SCHEMA_VERSION) {
    throw new StoreError(
      file,
      `schema_version ${version} is older than ${SCHEMA_VERSION}, the first version there is: the file was not written by a release of discord-file-splitter. Restore it from a backup, or move it aside to start with an empty progress file (the bot never overwrites it)`,
    );
  }
  const parsed = progressFileSchema.safeParse(value);
  if (!parsed.success) throw new StoreError(file, `does not match the schema: ${describeIssues(parsed.error.issues)}`);
  const seen = new Set<string>();
  for (const transfer of parsed.data.active_transfers) {
    if (seen.has(transfer.id)) throw new StoreError(file, `transfer ${transfer.id} appears twice in active_transfers`);
    seen.add(transfer.id);
  }
  return parsed.data;
}

export async function readWithIdentity(file: string): Promise<{ text: string; identity: FileIdentity } | undefined> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new StoreError(file, `cannot be opened (${errnoCode(error) ?? String(error)})`);
  }
  try {
    // fstat on the handle we read from, so the identity matches the text exactly.
    const identity = identityOf(await handle.stat());
    const text = await handle.readFile('utf8');
    return { text, identity };
  } catch (error) {
    throw new StoreError(file, `cannot be read (${errnoCode(error) ?? String(error)})`);
  } finally {
    await handle.close();
  }
}

/** Reads and validates a progress file without locking or writing it (for tools). */
export async function readProgressFile(filePath: string): Promise<ProgressFile> {
  const loaded = await readWithIdentity(filePath);
  if (loaded === undefined) throw new StoreError(filePath, 'does not exist');
  return parseProgressText(filePath, loaded.text);
}

/** The whole file in memory: `top` keeps unknown top-level fields and their order. */
export interface FileState {
  top: ProgressFile;
  records: Map<string, TransferRecord>;
}

export function stateOf(data: ProgressFile): FileState {
  return { top: data, records: new Map(data.active_transfers.map((t) => [t.id, sealRecord(t)])) };
}

/** Whether some record holds an encrypted transfer's file key (then the file must be its owner's alone). */
export function holdsKey(state: FileState): boolean {
  for (const record of state.records.values()) if (record.encryption?.file_key) return true;
  return false;
}

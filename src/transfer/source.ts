/** Local sources: confining a user's path to FILES_ROOT (after realpath) and listing files. */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

export interface LocalSource {
  relPath: string; // as shown to users, relative to FILES_ROOT
  realPath: string; // what is read
  size: number;
  mtimeMs: number;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  // The first segment, not the first characters: `..foo.bin` is a file inside the root.
  return rel !== '' && rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel);
}

/**
 * GIVEN a path relative to FILES_ROOT THEN the regular, readable, non-empty file it names,
 * or a UserError saying why not. Symlinks are followed and must still land inside the root.
 */
export async function resolveLocalSource(filesRoot: string, userPath: string, maxFileSize: number): Promise<LocalSource> {
  const requested = userPath.trim();
  if (requested.length === 0) throw new UserError('Give a path relative to the files folder.');
  if (path.isAbsolute(requested) || /^[a-zA-Z]:[\\/]/.test(requested)) {
    throw new UserError('Absolute paths are not accepted: give a path relative to the files folder.');
  }
  if (requested.includes('\0')) throw new UserError('That path is not valid.');
  let root: string;
  try {
    root = await fs.realpath(filesRoot);
  } catch {
    throw new UserError("The bot's files folder (FILES_ROOT) does not exist; ask the bot's operator.");
  }
  const joined = path.resolve(root, requested);
  if (!isInside(root, joined)) throw new UserError(`\`${requested}\` is outside the files folder.`);
  let real: string;
  try {
    real = await fs.realpath(joined);
  } catch {
    throw new UserError(`No such file: \`${requested}\`.`);
  }
  if (!isInside(root, real)) throw new UserError(`\`${requested}\` points outside the files folder.`);
  const stat = await fs.stat(real);
  if (stat.isDirectory()) throw new UserError(`\`${requested}\` is a directory; give a file.`);
  if (!stat.isFile()) throw new UserError(`\`${requested}\` is not a regular file.`);
  if (stat.size === 0) throw new UserError(`\`${requested}\` is empty: there is nothing to send.`);
  if (stat.size > maxFileSize) {
    throw new UserError(`\`${requested}\` is ${stat.size} bytes, above this bot's limit of ${maxFileSize} bytes (MAX_FILE_SIZE_BYTES).`);
  }
  try {
    await fs.access(real, constants.R_OK);
  } catch {
    throw new UserError(`\`${requested}\` cannot be read by the bot.`);
  }
  return { relPath: path.relative(root, joined).split(path.sep).join('/'), realPath: real, size: stat.size, mtimeMs: stat.mtimeMs };
}

/** Longest value Discord accepts for an autocomplete choice. */
const CHOICE_LIMIT = 100; // characters

/**
 * Files /split would accept whose relative path contains `query`, for autocomplete (bounded
 * walk). Symlinked directories are not entered: a link loop would fill the walk with repeats.
 */
export async function listFiles(filesRoot: string, query: string, limit = 25): Promise<string[]> {
  const needle = query.toLowerCase();
  let root: string;
  try {
    root = await fs.realpath(filesRoot);
  } catch {
    return [];
  }
  const results: string[] = [];
  const queue: string[] = [''];
  let visited = 0;
  while (queue.length > 0 && results.length < limit && visited < 5_000) {
    const dir = queue.shift() as string;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      visited++;
      if (entry.name.startsWith('.')) continue;
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        queue.push(rel);
        continue;
      }
      // A choice is one line, so names with a line break are left out; a symlink counts when it leads to a file /split takes.
      const candidate = (entry.isFile() || entry.isSymbolicLink()) && rel.length <= CHOICE_LIMIT && !/[\r\n]/.test(rel);
      if (candidate && rel.toLowerCase().includes(needle) && (await isSendable(root, rel))) {
        results.push(rel);
        if (results.length >= limit) break;
      }
    }
  }
  return results;
}

/** As resolveLocalSource judges it: after symlinks, a non-empty regular file still inside the root. */
async function isSendable(root: string, rel: string): Promise<boolean> {
  try {
    const real = await fs.realpath(path.join(root, rel));
    if (!isInside(root, real)) return false;
    const stat = await fs.stat(real);
    return stat.isFile() && stat.size > 0;
  } catch {
    return false;
  }
}

/**
 * What `npm run build` compiled dist/ from: each source's sha256, kept in dist/build-info.json,
 * so that a start can tell a dist/ older than src/ (a `git pull` with no `npm ci` after it)
 * from a current one, instead of running old code. Plain JavaScript on Node's own modules:
 * it runs where TypeScript and the other dev dependencies are not installed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's folder (this file is in its bin/). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INFO = 'dist/build-info.json';
/** Besides src/, what the compiled output depends on. */
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** Every file under `dir`, as a path relative to `root` with `/` separators. */
function filesUnder(root, dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return filesUnder(root, rel);
    return entry.isFile() ? [rel] : [];
  });
}

/** `{ "src/index.ts": "<sha256>", … }` for the sources as they are now. */
export function sourceDigests(root = ROOT) {
  const files = [...filesUnder(root, 'src'), ...CONFIG_FILES.filter((f) => existsSync(path.join(root, f)))].sort();
  return Object.fromEntries(
    files.map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(root, f)))
        .digest('hex'),
    ]),
  );
}

/** Records `digests` (taken before compiling, so a source edited meanwhile reads as changed). */
export function writeBuildInfo(digests, root = ROOT) {
  const file = path.join(root, INFO);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ sources: digests }, null, 2)}\n`);
  renameSync(temp, file);
}

/** Before compiling: a build that fails halfway must not leave dist/ looking current. */
export function removeBuildInfo(root = ROOT) {
  rmSync(path.join(root, INFO), { force: true });
}

/**
 * Why `entry` (a file in dist/) cannot run as compiled from the sources beside it, in a few
 * words; null when it can. A packed install has no src/: its dist/ is all there is.
 */
export function staleReason(entry, root = ROOT) {
  if (!existsSync(entry)) return `not built yet (no ${path.relative(root, entry)})`;
  if (!existsSync(path.join(root, 'src'))) return null;
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(path.join(root, INFO), 'utf8')).sources;
  } catch {
    recorded = undefined;
  }
  if (typeof recorded !== 'object' || recorded === null) return `dist/ was not built by \`npm run build\` (no readable ${INFO})`;
  const now = sourceDigests(root);
  const changed = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort().find((f) => recorded[f] !== now[f]);
  if (changed === undefined) return null;
  const how = !(changed in now) ? 'was removed' : !(changed in recorded) ? 'was added' : 'changed';
  return `dist/ is older than the sources (${changed} ${how} since it was built)`;
}

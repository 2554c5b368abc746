#!/usr/bin/env node
/**
 * `npm run build`, and `prepare` (so `npm ci` and `npm install` build): compiles src/ into
 * dist/ and records what it compiled (build-info.js). TypeScript is a dev dependency: where it
 * is not installed (`npm ci --omit=dev`), a dist/ current with src/ is kept as it is, and
 * anything else fails the install, saying how to build.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { removeBuildInfo, ROOT, sourceDigests, staleReason, writeBuildInfo } from './build-info.js';

let tsc = null;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // not installed: handled below
}

if (tsc === null) {
  const reason = staleReason(path.join(ROOT, 'dist/index.js'));
  if (reason === null) {
    console.log('dist/ is already compiled from these sources (TypeScript, a dev dependency, is not installed here)');
    process.exit(0);
  }
  console.error(
    `error: ${reason}, and it cannot be compiled here: TypeScript, a dev dependency, is not installed (\`npm ci --omit=dev\`).\n` +
      'Install with `npm ci` (it compiles dist/), then drop the dev dependencies with `npm prune --omit=dev`: see "Deploying and updating" in README.md.',
  );
  process.exit(1);
}

const digests = sourceDigests();
removeBuildInfo();
const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeBuildInfo(digests);

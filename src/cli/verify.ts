/** `verify <manifest.json> [--parts DIR]`: join's checks, writing nothing. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CliFailure, UsageError } from '../errors.js';
import type { CliIo } from './io.js';
import { checkParts, loadManifest } from './join.js';

export const VERIFY_USAGE = 'verify <manifest.json> [--parts DIR]';

export async function verify(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { parts: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(`verify takes exactly one manifest: ${VERIFY_USAGE}`);
  const { manifest, manifestPath } = await loadManifest(path.resolve(io.cwd, positionals[0]!));
  const partsDir = path.resolve(io.cwd, values.parts ?? path.dirname(manifestPath));
  // Every bad part is listed, not only the first: verify is the diagnosis.
  const problems = await checkParts(manifest, partsDir, io, { stopAtFirst: false, label: 'verify' });
  if (problems.length > 0) throw new CliFailure(problems.join('\n'));
  io.stdout.write(`ok: ${manifest.chunks.length} part(s), ${manifest.file.size} bytes, sha256 ${manifest.file.sha256} verified\n`);
  return 0;
}

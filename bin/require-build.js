/**
 * Preloaded (`node --import`) by `npm start`, `npm run start:sharded` and `npm run
 * deploy-commands`: a dist/ that is missing or older than src/ stops them with what to do,
 * instead of a stack trace or a bot running old code.
 */
import path from 'node:path';
import { staleReason } from './build-info.js';

const entry = process.argv[1];
const reason = entry === undefined ? null : staleReason(path.resolve(entry));
if (reason !== null) {
  process.stderr.write(`error: ${reason}: run \`npm run build\` (after a \`git pull\`, \`npm ci\` does it), then start again\n`);
  process.exit(1);
}

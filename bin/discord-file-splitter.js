#!/usr/bin/env node
// Runs the CLI that `npm run build` compiles into dist/ (`npm install` and `npm ci` build it, through `prepare`).
import { fileURLToPath } from 'node:url';
import { ROOT, staleReason } from './build-info.js';

const built = new URL('../dist/cli/main.js', import.meta.url);
const reason = staleReason(fileURLToPath(built));
if (reason !== null) {
  process.stderr.write(`error: the command line is ${reason}: run \`npm run build\` in ${ROOT}\n`);
  process.exit(1);
}
await import(built.href);

#!/usr/bin/env node
// Runs the CLI that `npm run build` compiles into dist/ (`npm install` builds it, through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`error: the command line is not built (no ${fileURLToPath(built)}): run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
await import(built.href);

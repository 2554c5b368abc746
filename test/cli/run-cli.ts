/** Spawns the CLI as a child process, the way an operator runs it. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(REPO, 'src/cli/main.ts');
// By path, not by name: a test may run the CLI from a directory without node_modules.
const TSX_LOADER = path.join(REPO, 'node_modules/tsx/dist/loader.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Promise<CliResult> {
  // The tests decide the configuration, not the developer's shell.
  const decided = new Set([
    'DEFAULT_CHUNK_SIZE_BYTES',
    'LOG_LEVEL',
    'RETRY_LIMIT_PER_CHUNK',
    'RETRY_BACKOFF_BASE_MS',
    'DISCORD_TOKEN',
    'DISCORD_API_URL',
  ]);
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !decided.has(key)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX_LOADER, MAIN, ...args],
      { cwd: options.cwd ?? REPO, env: { ...base, ...env }, timeout: 50_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

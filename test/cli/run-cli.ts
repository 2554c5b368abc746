/** Spawns the CLI as a child process, the way an operator runs it. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
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

/** The process's environment without what the tests decide, not the developer's shell. */
function baseEnv(): NodeJS.ProcessEnv {
  const decided = new Set([
    'DEFAULT_CHUNK_SIZE_BYTES',
    'LOG_LEVEL',
    'RETRY_LIMIT_PER_CHUNK',
    'RETRY_BACKOFF_BASE_MS',
    'DISCORD_TOKEN',
    'DISCORD_API_URL',
    'XDG_STATE_HOME',
  ]);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !decided.has(key)));
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Promise<CliResult> {
  const base = baseEnv();
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

export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (a signal's death reads as 128 + its number, as a shell says). */
  exited: Promise<CliResult>;
}

/** The CLI started, for a test that acts while it runs (a kill, Ctrl-C); killed after 60 s at the latest. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
    cwd: REPO,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code: code ?? 128 + (signal ? osConstants.signals[signal] : 0), stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * Runs the bot as its own process, as users run it (`src/index.ts` through tsx), pointed at a
 * fake Discord. Collects its JSON log lines so tests can wait for events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX_LOADER = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
const ENTRY = path.join(REPO_ROOT, 'src/index.ts');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface BotProcess {
  child: ChildProcess;
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (already seen or coming) that matches; rejects after timeoutMs. */
  waitForLog(pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The process's exit, or 'still running' if it has not exited within `timeoutMs` (bounded waits in tests). */
export async function exitWithin(
  bot: BotProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), timeoutMs);
  });
  try {
    return await Promise.race([bot.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface StartBotOptions {
  /** Environment for the bot on top of a minimal base (PATH, HOME). */
  env: Record<string, string>;
  cwd: string;
  /** Wait for the `ready` log line (default true). */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  /** A built entry (`dist/index.js`) run by plain node; default: src/index.ts through tsx. */
  entry?: string;
  /** Another source file (an absolute path) run through tsx instead of src/index.ts: src/shard.ts, the shard manager. */
  script?: string;
  /**
   * A command run instead of node, e.g. `['npm', 'start']`, as the leader of its own process
   * group: `kill` signals the whole group, as a terminal's Ctrl-C or systemd does.
   */
  command?: readonly [string, ...string[]];
}

export async function startBotProcess(options: StartBotOptions): Promise<BotProcess> {
  const args = options.entry === undefined ? ['--import', TSX_LOADER, options.script ?? ENTRY] : [options.entry];
  const [file, ...rest] = options.command ?? [process.execPath, ...args];
  const group = options.command !== undefined;
  const child = spawn(file, rest, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  const signal = (name: NodeJS.Signals) => {
    if (group && child.pid !== undefined) {
      try {
        process.kill(-child.pid, name);
      } catch {
        // the group is gone already
      }
    } else child.kill(name);
  };
  const logs: LogLine[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const text of lines) {
      if (!text.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 0, msg: text, unparsed: true };
      }
      logs.push(line);
      for (const w of waiters) {
        if (w.pred(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const waitForLog = (pred: (line: LogLine) => boolean, timeoutMs = 20_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = logs.find(pred);
      if (seen) return resolve(seen);
      const waiter = {
        pred,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `bot log line not seen within ${timeoutMs} ms; last lines:\n${out.split('\n').slice(-15).join('\n')}\nstderr:\n${err.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(({ code, signal }) => {
        if (waiters.delete(waiter)) {
          clearTimeout(timer);
          reject(
            new Error(`bot exited (code ${code}, signal ${signal}) before the log line; stderr:\n${err.slice(-2000)}\nstdout:\n${out.slice(-2000)}`),
          );
        }
      });
    });

  const bot: BotProcess = {
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    waitForLog,
    exited,
    async kill(name = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) signal(name);
      const timer = setTimeout(() => signal('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      // A group's other processes (npm's child, the bot) may outlive its leader.
      if (group) signal('SIGKILL');
      return result;
    },
  };
  if (options.waitReady ?? true) {
    await waitForLog((l) => l.msg === 'ready', options.readyTimeoutMs ?? 30_000);
  }
  return bot;
}

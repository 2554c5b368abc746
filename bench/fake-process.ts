/** The benchmark's fake Discord in a process of its own (bench/fake-child.ts), driven over fork() IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeCall, FakeReply } from './ipc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX_LOADER = path.join(ROOT, 'node_modules/tsx/dist/loader.mjs');

export class FakeProcess {
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: FakeReply) => {
      const w = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.error !== undefined) w?.reject(new Error(`fake: ${reply.error}`));
      else w?.resolve(reply.result);
    });
    child.on('exit', (code) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`fake process exited (${code})`));
      this.#waiting.clear();
    });
  }

  static start(): FakeProcess {
    const profile = process.env['BENCH_PROFILE_DIR'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}`] : [];
    return new FakeProcess(
      fork(path.join(ROOT, 'bench/fake-child.ts'), [], {
        execArgv: ['--import', TSX_LOADER, ...profile],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }

  call<T>(req: FakeCall, timeoutMs = 60_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`fake: ${req.op} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...req, id });
    });
  }

  /** Asks the fake to stop and lets it exit by itself (a CPU profile is written at exit), killed after 10 s at most. */
  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call({ op: 'stop' }).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    this.child.kill();
  }
}

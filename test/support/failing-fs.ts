/**
 * A file system that fails one step of a durable write (STYLE example 8): the real calls,
 * except the chosen one, which fails with an errno-like error (or, for a short write, takes
 * only half of what it was given). Built on node's functions as they were when this module
 * loaded, so it can also stand in for spied `fs.promises` methods without calling itself.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DurableFs } from '../../src/fs/durable-write.js';

export type InjectedStep = 'open' | 'write' | 'short-write' | 'no-bytes' | 'fsync' | 'size' | 'rename' | 'dir-fsync';

const real = { open: fsp.open, link: fsp.link, rename: fsp.rename, unlink: fsp.unlink, lstat: fsp.lstat, realpath: fsp.realpath };

export function injected(step: InjectedStep, code = 'EIO'): Error {
  return Object.assign(new Error(`injected ${step} failure`), { code });
}

/** A handle whose listed methods are replaced; every other one is the real handle's. */
function wrapHandle(handle: FileHandle, overrides: Partial<Record<keyof FileHandle, unknown>>): FileHandle {
  return new Proxy(handle, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof FileHandle];
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Our temp files: `.<name>.<pid>.<hex>.tmp`. */
const isTemp = (file: string) => path.basename(file).startsWith('.') && file.endsWith('.tmp');

export function failingFs(step: InjectedStep, code = 'EIO'): { fs: DurableFs; hits: () => number } {
  let hits = 0;
  const fail = (): never => {
    hits++;
    throw injected(step, code);
  };
  const tempHandle = (handle: FileHandle): FileHandle => {
    switch (step) {
      case 'write':
        return wrapHandle(handle, { write: async () => fail() });
      case 'short-write':
        return wrapHandle(handle, {
          write: async (data: Uint8Array, offset: number, length: number, position: number | null) => {
            hits++;
            return handle.write(data, offset, Math.ceil(length / 2), position);
          },
        });
      case 'no-bytes':
        return wrapHandle(handle, {
          write: async (data: Uint8Array) => {
            hits++;
            return { bytesWritten: 0, buffer: data };
          },
        });
      case 'fsync':
        return wrapHandle(handle, { sync: async () => fail() });
      case 'size':
        return wrapHandle(handle, {
          stat: async () => {
            hits++;
            const stats = await handle.stat();
            // A plain copy is enough: the code under test reads fields, not Stats methods.
            // eslint-disable-next-line @typescript-eslint/no-misused-spread
            return { ...stats, size: stats.size - 1 };
          },
        });
      default:
        return handle;
    }
  };
  const fs: DurableFs = {
    async open(file, flags, mode) {
      if (step === 'open' && flags === 'wx') fail();
      const handle = await real.open(file, flags, mode);
      if (flags === 'wx') return tempHandle(handle);
      if (step === 'dir-fsync' && (await handle.stat()).isDirectory()) return wrapHandle(handle, { sync: async () => fail() });
      return handle;
    },
    async link(existing, name) {
      if (step === 'rename' && isTemp(existing)) fail();
      return real.link(existing, name);
    },
    async rename(from, to) {
      if (step === 'rename') fail();
      return real.rename(from, to);
    },
    unlink: (file) => real.unlink(file),
    lstat: (file) => real.lstat(file),
    realpath: (file) => real.realpath(file),
  };
  return { fs, hits: () => hits };
}

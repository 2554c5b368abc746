import { DiscordAPIError, HTTPError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { classifyRestError } from '../src/discord/classify.js';
import * as errors from '../src/errors.js';

/** Every error class the module exports, made with placeholder arguments. */
function everyError(): errors.DfsError[] {
  const made: errors.DfsError[] = [];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof errors.DfsError)) continue;
    const Class = value as unknown as new (...args: unknown[]) => errors.DfsError;
    const takesList = value === errors.ConfigError || value === errors.ShutdownError;
    made.push(takesList ? new Class(['x']) : new Class('x', 'x', 'x', false));
  }
  return made;
}

const apiError = (status: number, code = 0) =>
  new DiscordAPIError({ code, message: 'm' }, code, status, 'POST', 'http://127.0.0.1/api/v10/channels/1/messages', {
    body: undefined,
    files: undefined,
  });

describe('the errors module', () => {
  it('GIVEN every error class THEN each has its own stable code and its class name as name', () => {
    const all = everyError();
    expect(all.length).toBeGreaterThanOrEqual(20);
    const codes = all.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of all) {
      expect(e.code).toMatch(/^DFS_[A-Z_]+$/);
      expect(e.name).toBe(e.constructor.name);
    }
  });

  it('GIVEN errors with and without an errno THEN errnoCode reads the errno, never a DFS code', () => {
    expect(errors.errnoCode(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe('ENOSPC');
    expect(errors.errnoCode(new errors.DurableWriteError('f', 'write', 'full', { errno: 'ENOSPC' }))).toBe('ENOSPC');
    expect(errors.errnoCode(new errors.DiskWriteError('f', 'EROFS', 'read-only', true))).toBe('EROFS');
    expect(errors.errnoCode(new errors.UserError('no'))).toBeUndefined();
    expect(errors.errnoCode('ENOSPC')).toBeUndefined();
  });
});

describe('classifyRestError', () => {
  it.each([
    [apiError(500), 'transient', 'http_500'],
    [apiError(429), 'transient', 'http_429'],
    [apiError(404, 10008), 'fatal', 'http_404'],
    [apiError(401, 0), 'fatal', 'http_401'],
    [apiError(413), 'too_large', 'too_large'],
    [apiError(400, 40005), 'too_large', 'too_large'],
    [new HTTPError(502, 'Bad Gateway', 'POST', 'http://127.0.0.1/x', { body: undefined, files: undefined }), 'transient', 'http_502'],
    [new HTTPError(403, 'Forbidden', 'POST', 'http://127.0.0.1/x', { body: undefined, files: undefined }), 'fatal', 'http_403'],
    [new Error('Expected token to be set for this request, but none was present'), 'fatal', 'http_401'],
    [new DOMException('This operation was aborted', 'AbortError'), 'transient', 'timeout'],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }), 'transient', 'network'],
  ] as const)('GIVEN %s THEN %s (%s)', (error, kind, reason) => {
    expect(classifyRestError(error)).toMatchObject({ kind, reason });
  });

  it('GIVEN the caller aborted THEN aborted, whatever was thrown', () => {
    expect(classifyRestError(apiError(500), AbortSignal.abort()).kind).toBe('aborted');
  });

  it('GIVEN a network error THEN the message names the cause undici hid', () => {
    expect(classifyRestError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })).message).toBe(
      'network error: fetch failed (ECONNRESET)',
    );
  });
});

describe('findCause', () => {
  /** `inner` wrapped `depth` times, as discord.js and undici wrap what they are given. */
  const wrapped = (inner: Error, depth: number): Error => {
    let e = inner;
    for (let i = 0; i < depth; i++) e = new Error(`wrap ${i}`, { cause: e });
    return e;
  };
  const isHeldBack = (e: Error): e is errors.HeldBackError => e instanceof errors.HeldBackError;

  it('GIVEN the error itself or one it was caused by matches THEN that one is returned', () => {
    const held = new errors.HeldBackError('held');
    expect(errors.findCause(held, isHeldBack)).toBe(held);
    expect(errors.findCause(wrapped(held, 7), isHeldBack)).toBe(held);
    expect(errors.heldBackIn(wrapped(held, 3))).toBe(held);
  });

  it('GIVEN no match, a match deeper than 8, a loop or no error at all THEN null', () => {
    expect(errors.findCause(wrapped(new Error('x'), 3), isHeldBack)).toBeNull();
    expect(errors.findCause(wrapped(new errors.HeldBackError('deep'), 8), isHeldBack)).toBeNull();
    const loop = new Error('a');
    loop.cause = new Error('b', { cause: loop });
    expect(errors.findCause(loop, isHeldBack)).toBeNull();
    expect(errors.findCause('not an error', () => true)).toBeNull();
  });
});

describe('a local file planned as a transfer', () => {
  it('GIVEN a folder rather than a file THEN a UserError says so, naming it as given', async () => {
    const { planFileTransfer } = await import('../src/transfer/new-transfer.js');
    const err = await planFileTransfer({ realPath: process.cwd(), relPath: 'a-folder', chunkSize: 1024, ownerId: 'o', channelId: 'c' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(errors.UserError);
    expect(err).toMatchObject({ code: 'DFS_USER', message: 'a-folder is not a regular file' });
  });
});

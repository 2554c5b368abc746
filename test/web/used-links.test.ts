/**
 * The record of used sign-in links (src/web/used-links.ts) under WebAuth: a link is claimed in
 * one step before its write is awaited, counts only once the write is durable, and a record
 * that cannot be written refuses the sign-in without burning the link.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { nodeFs, type DurableFs } from '../../src/fs/durable-write.js';
import { createLogger } from '../../src/log.js';
import { WebAuth, type Session, type SignInFailure } from '../../src/web/auth.js';
import { UsedLinks, usedLinksPathFor } from '../../src/web/used-links.js';
import { failingFs } from '../support/failing-fs.js';
import { tempDir } from '../support/temp.js';
import { withTimeout } from '../support/wait.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const TTL_MINUTES = 15;
/** The page's public URL, which its sign-in links name. */
const PAGE = 'http://127.0.0.1:8080';
const MEMBER = { userId: '111', mayStart: true, mayActOnOthers: false };

function logger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/** Node's calls, except that every rename waits until `release` is called; `reached` settles at the first. */
function heldRenames(): { fs: DurableFs; release: () => void; renames: () => number; reached: Promise<void> } {
  let open: () => void = () => {};
  let arrive: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  let renames = 0;
  return {
    fs: {
      ...nodeFs,
      rename: async (from, to) => {
        renames++;
        arrive();
        await gate;
        return nodeFs.rename(from, to);
      },
    },
    release: () => open(),
    renames: () => renames,
    reached,
  };
}

async function authOn(file: string, fs?: DurableFs, page = PAGE) {
  const { log, lines } = logger();
  const usedLinks = await UsedLinks.open(file, TTL_MINUTES * 60_000, { log, ...(fs ? { fs } : {}) });
  return { auth: new WebAuth({ secret: SECRET, linkTtlMinutes: TTL_MINUTES, usedLinks, page }), lines };
}

const isSession = (r: Session | SignInFailure): r is Session => typeof r !== 'string';

/** Settles as 'pending' when `promise` has not settled after the microtasks queued so far and one turn of the event loop. */
async function stateOf<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('used sign-in links on disk', () => {
  it('GIVEN the transfer_progress path THEN the record sits beside it, one per shard file', () => {
    expect(usedLinksPathFor('/srv/dfs/transfer_progress.json')).toBe('/srv/dfs/transfer_progress.used-links.json');
    expect(usedLinksPathFor('/srv/dfs/transfer_progress.shard-1.json')).toBe('/srv/dfs/transfer_progress.shard-1.used-links.json');
  });

  it('GIVEN one link redeemed twice while the first record is still being written THEN the second is refused at once, and the first signs in once the write lands', async () => {
    const file = usedLinksPathFor(path.join(await tempDir(), 'transfer_progress.json'));
    const held = heldRenames();
    const { auth } = await authOn(file, held.fs);
    const token = auth.signInToken(MEMBER, 'g1');
    const first = auth.signIn(token);
    const second = auth.signIn(token);
    expect(await second).toBe('used');
    // The write reaches its rename, where it is held: waited for as it happens, not for a number of turns a busy disk may outlast.
    await withTimeout(held.reached, 10_000, "the used-links record's rename");
    expect(held.renames()).toBe(1);
    expect(await stateOf(first)).toBe('pending');
    held.release();
    const session = await first;
    expect(isSession(session) && session.actor.userId).toBe('111');
    expect(await auth.signIn(token)).toBe('used');
  });

  it('GIVEN a link used before a restart THEN the restarted auth refuses it, while another link of the same secret signs in', async () => {
    const file = usedLinksPathFor(path.join(await tempDir(), 'transfer_progress.json'));
    const before = await authOn(file);
    const used = before.auth.signInToken(MEMBER, 'g1');
    const unused = before.auth.signInToken(MEMBER, 'g1');
    expect(isSession(await before.auth.signIn(used))).toBe(true);

    const after = await authOn(file);
    expect(await after.auth.signIn(used)).toBe('used');
    expect(isSession(await after.auth.signIn(unused))).toBe(true);
    expect(await after.auth.signIn(unused)).toBe('used');
  });

  it('GIVEN the disk refuses the record (ENOSPC) THEN the sign-in is refused as unrecorded, logged, and the link still works once the disk allows', async () => {
    const file = usedLinksPathFor(path.join(await tempDir(), 'transfer_progress.json'));
    const full = failingFs('write', 'ENOSPC');
    const refusing = await authOn(file, full.fs);
    const token = refusing.auth.signInToken(MEMBER, 'g1');
    expect(await refusing.auth.signIn(token)).toBe('unrecorded');
    expect(full.hits()).toBe(1);
    expect(refusing.lines.some((l) => l.event === 'sign_in_unrecorded' && l.level === 40)).toBe(true);
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });

    const recovered = await authOn(file);
    expect(isSession(await recovered.auth.signIn(token))).toBe(true);
    expect(await recovered.auth.signIn(token)).toBe('used');
  });

  it('GIVEN a record that is not valid THEN every link made before the start is refused, a warning says why, and links made after sign in', async () => {
    const file = usedLinksPathFor(path.join(await tempDir(), 'transfer_progress.json'));
    const before = await authOn(file);
    const old = before.auth.signInToken(MEMBER, 'g1');
    await writeFile(file, '{"version":1,"used":');
    const after = await authOn(file);
    expect(after.lines.some((l) => l.event === 'used_links_unreadable' && l.level === 40)).toBe(true);
    expect(await after.auth.signIn(old)).toBe('used');
    // A link made now expires after the cut-off only if time has moved on; one made by a later clock does.
    const later = new WebAuth({
      secret: SECRET,
      linkTtlMinutes: TTL_MINUTES,
      now: () => Date.now() + 1_000,
      page: PAGE,
      usedLinks: await UsedLinks.open(file, TTL_MINUTES * 60_000, { log: logger().log, now: () => Date.now() - 1_000 }),
    });
    expect(isSession(await later.signIn(later.signInToken(MEMBER, 'g1')))).toBe(true);
  });

  it('GIVEN two shards sharing WEB_SECRET, each with its own record WHEN a link used on one is opened on the other THEN it is refused there: a link opens only the page that made it', async () => {
    const dir = await tempDir();
    const shard0 = await authOn(usedLinksPathFor(path.join(dir, 'transfer_progress.shard-0.json')), undefined, 'http://127.0.0.1:8080');
    const shard1 = await authOn(usedLinksPathFor(path.join(dir, 'transfer_progress.shard-1.json')), undefined, 'http://127.0.0.1:8081');
    const token = shard0.auth.signInToken(MEMBER, 'g1');
    expect(isSession(await shard0.auth.signIn(token))).toBe(true);
    expect(await shard1.auth.signIn(token)).toBe('forged');
    expect(isSession(await shard1.auth.signIn(shard1.auth.signInToken(MEMBER, 'g1')))).toBe(true);
  });
});

/**
 * Download links (README, 'Download links') with the bot as its own process against the fake Discord:
 * `/share`, the whole file and byte ranges checked against the source, what a broken part
 * does to the response, the refusals (expired, forged, revoked, pruned, too many at once).
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { access, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { libraryDecrypt, newIdentity } from '../support/age.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';
import { sha256 as sha } from '../support/hash.js';

const SECRET = 'download-test-secret-0123456789abcdef';
const CDN_GET = 'GET /attachments/:channel/:attachment/:filename';
const NAMED = 'my "holiday" — été 2026.mkv';
const CURL = '/usr/bin/curl';

/**
 * `curl -o <file> <link>`, with `-C -` when resuming: its exit code (18: the body broke off
 * short of its Content-Length). Without curl on the machine, the same requests by fetch: a
 * Range from the file's size on, appended to it.
 */
async function curlDownload(link: string, file: string, resume: boolean): Promise<number> {
  if (
    await access(CURL).then(
      () => true,
      () => false,
    )
  ) {
    const args = ['--silent', '--show-error', ...(resume ? ['-C', '-'] : []), '-o', file, link];
    try {
      await promisify(execFile)(CURL, args, { timeout: 60_000 });
      return 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  }
  const have = resume ? ((await stat(file).catch(() => null))?.size ?? 0) : 0;
  const res = await fetch(link, have > 0 ? { headers: { range: `bytes=${have}-` } } : {});
  const out = await open(file, resume ? 'a' : 'w');
  try {
    for await (const piece of res.body as AsyncIterable<Uint8Array>) await out.write(piece);
    return 0;
  } catch {
    return 18;
  } finally {
    await out.close();
  }
}

describe('download links', () => {
  let fx: BotFixture;
  let big: { id: string; bytes: Buffer; link: string };

  beforeAll(async () => {
    fx = await startBotFixture({
      env: { WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, WEB_MAX_DOWNLOADS: '2', MAX_ACTIVE_TRANSFERS: '10' },
    });
    await writeSeededFile(path.join(fx.filesRoot, 'big.bin'), 50 * MIB, 11);
    const id = await fx.split('big.bin', { chunkSizeMiB: 8, permissions: PERMISSIONS.ADMINISTRATOR });
    expect((await fx.waitForStatus(id, ['complete', 'error'])).status).toBe('complete');
    big = { id, bytes: await readFile(path.join(fx.filesRoot, 'big.bin')), link: await share(id) };
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** `/share` as an administrator; the link in the reply. */
  async function share(id: string, extra: { name: string; type: number; value: number | boolean }[] = []): Promise<string> {
    const handle = await fx.command({
      name: 'share',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [{ name: 'transfer', type: 3, value: id }, ...extra],
    });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    expect(handle.ephemeral()).toBe(true);
    const content = handle.original()?.content ?? '';
    return /(http:\/\/\S+\/d\/\S+)/.exec(content)?.[1] ?? content;
  }

  /** A small transfer of its own, for a test that breaks it. */
  async function smallTransfer(name: string, seed: number, size = 3 * MIB) {
    await writeSeededFile(path.join(fx.filesRoot, name), size, seed);
    const id = await fx.split(name, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status).toBe('complete');
    return { t, link: await share(id) };
  }

  /** Reads a response to its end; rejects when the body breaks off. */
  const body = async (res: Response) => Buffer.from(await res.arrayBuffer());

  it('GIVEN /share of a complete transfer WHEN the link is fetched THEN exactly the source bytes come, with Content-Length, Content-Disposition, ETag and Accept-Ranges', async () => {
    expect(big.link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/d\/[\w-]+\.[\w-]+\/big\.bin$/);
    const res = await fetch(big.link);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(50 * MIB));
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=big.bin');
    expect(res.headers.get('etag')).toBe(`"${sha(big.bytes)}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(sha(await body(res))).toBe(sha(big.bytes));
    await fx.bot.waitForLog((l) => l.event === 'download_complete' && l.transfer_id === big.id, 5_000);
  });

  it('GIVEN byte ranges THEN each returns the right bytes with 206, an unsatisfiable one 416, a stale If-Range the whole file, HEAD the headers only', async () => {
    const size = big.bytes.length;
    const boundary = 8 * MIB;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      [`bytes=${boundary - 50}-${boundary + 49}`, boundary - 50, boundary + 49],
      ['bytes=-1', size - 1, size - 1],
      [`bytes=${size - 1}-`, size - 1, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(big.link, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect((await body(res)).equals(big.bytes.subarray(start, end + 1)), range).toBe(true);
    }
    const unsatisfiable = await fetch(big.link, { headers: { range: `bytes=${size}-` } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${size}`);
    const stale = await fetch(big.link, { headers: { range: 'bytes=0-99', 'if-range': '"not-the-etag"' } });
    expect(stale.status).toBe(200);
    expect(sha(await body(stale))).toBe(sha(big.bytes));
    const fresh = await fetch(big.link, { headers: { range: 'bytes=0-99', 'if-range': `"${sha(big.bytes)}"` } });
    expect(fresh.status).toBe(206);
    await body(fresh);
    const head = await fetch(big.link, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect((await body(head)).length).toBe(0);
  });

  it('GIVEN a part whose stored bytes differ from the manifest THEN the download breaks off (never a clean end) and the log names the part', async () => {
    const { t, link } = await smallTransfer('corrupt.bin', 21);
    const part = t.parts[2]!;
    fx.fake.corruptAttachment(part.attachment_id, 100);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    await expect(body(res)).rejects.toThrow();
    await fx.bot.waitForLog((l) => l.event === 'download_failed' && l.transfer_id === t.id && l.part === part.name, 5_000);
  });

  it('GIVEN a part the CDN serves with one wrong byte, then right WHEN curl downloads, then resumes with -C - THEN the first run keeps only checked bytes and the resumed file is the source', async () => {
    // 5 MiB in 1 MiB parts, the third served with one wrong byte.
    const { t, link } = await smallTransfer('resumed.bin', 27, 5 * MIB);
    const source = await readFile(path.join(fx.filesRoot, 'resumed.bin'));
    const part = t.parts[2]!;
    fx.fake.corruptAttachment(part.attachment_id, 100);
    const file = path.join(await tempDir(), 'f');
    const first = await curlDownload(link, file, false);
    const kept = await readFile(file).catch(() => Buffer.alloc(0));
    // Resumed while the part is still wrong: it breaks off again, adding nothing unchecked.
    const early = await curlDownload(link, file, true);
    const keptAgain = await readFile(file).catch(() => Buffer.alloc(0));
    // The CDN recovers: 256 steps of one byte bring it back to what it was.
    for (let i = 0; i < 255; i++) fx.fake.corruptAttachment(part.attachment_id, 100);
    const resumed = await curlDownload(link, file, true);

    expect(first).not.toBe(0);
    expect(early).not.toBe(0);
    expect(resumed).toBe(0);
    expect(sha(await readFile(file))).toBe(sha(source));
    // No byte of the part that failed its check left the bot.
    expect(kept.length).toBeLessThanOrEqual(part.offset);
    expect(kept.equals(source.subarray(0, kept.length))).toBe(true);
    expect(keptAgain.length).toBeLessThanOrEqual(part.offset);
    expect(keptAgain.equals(source.subarray(0, keptAgain.length))).toBe(true);
  });

  it('GIVEN a part whose message was deleted THEN the download breaks off and the log names the part; with the first part gone, it is a 410', async () => {
    // Five parts in two messages (three to a message): parts 4 and 5 in the second.
    const { t, link } = await smallTransfer('deleted.bin', 22, 5 * MIB);
    const deleteMessage = async (part: (typeof t.parts)[number]) => {
      const channelId = part.channel_id ?? t.channel_id;
      // Its thread was archived at the end, where Discord refuses to delete a message: a moderator reopens it first.
      if (fx.fake.threads().some((x) => x.id === channelId && x.archived)) fx.fake.moderateThread(channelId, { archived: false });
      const del = await fetch(`${fx.fake.apiUrl}/v10/channels/${channelId}/messages/${part.message_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bot ${fx.fake.token}` },
      });
      expect(del.status).toBe(204);
    };
    const part = t.parts[3]!;
    expect(part.message_id).not.toBe(t.parts[0]!.message_id);
    await deleteMessage(part);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    await expect(body(res)).rejects.toThrow();
    await fx.bot.waitForLog((l) => l.event === 'download_failed' && l.transfer_id === t.id && l.part === part.name, 5_000);
    await deleteMessage(t.parts[0]!);
    const gone = await fetch(link);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toMatch(/deleted/);
  });

  it('GIVEN a CDN that fails twice on a part, then works THEN the download completes with the right bytes', async () => {
    const { t, link } = await smallTransfer('flaky.bin', 23);
    const part = t.parts[1]!;
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'status', status: 500, times: 2 });
    const res = await fetch(link);
    expect(sha(await body(res))).toBe(sha(await readFile(path.join(fx.filesRoot, 'flaky.bin'))));
    expect(fx.fake.requests.filter((r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`) && r.status === 500)).toHaveLength(2);
  });

  it('GIVEN an expired, a forged, a revoked link or one to a transfer no longer kept THEN 410, 404, 404 and 410', async () => {
    const base = new URL(big.link).origin;
    const token = (claims: object, secret = SECRET) => {
      const b = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${b}.${createHmac('sha256', secret).update(`dfs-share.${b}`).digest('base64url')}`;
    };
    const expired = await fetch(`${base}/d/${token({ t: big.id, g: 0, e: Date.now() - 1000 })}/big.bin`);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toMatch(/expired/);
    expect((await fetch(`${base}/d/${token({ t: big.id, g: 0, e: Date.now() + 60_000 }, 'x'.repeat(32))}/big.bin`)).status).toBe(404);
    expect((await fetch(`${base}/d/not-a-token/big.bin`)).status).toBe(404);
    expect((await fetch(`${base}/d/${token({ t: 'upload_pruned0', g: 0, e: Date.now() + 60_000 })}/x.bin`)).status).toBe(410);

    const { t, link } = await smallTransfer('revoked.bin', 24);
    expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
    expect(await share(t.id, [{ name: 'revoke', type: 5, value: true }])).toMatch(/stopped working/);
    expect((await fetch(link, { method: 'HEAD' })).status).toBe(404);
    const again = await share(t.id, [{ name: 'hours', type: 4, value: 2 }]);
    expect((await fetch(again, { method: 'HEAD' })).status).toBe(200);
    expect((await fx.transfer(t.id)).share_generation).toBe(1);
  });

  it('GIVEN WEB_MAX_DOWNLOADS downloads running THEN one more gets 503 with Retry-After, and the first ones finish', async () => {
    const running = [await fetch(big.link), await fetch(big.link)];
    const extra = await fetch(big.link);
    expect(extra.status).toBe(503);
    expect(extra.headers.get('retry-after')).toBe('30');
    await body(extra);
    for (const res of running) expect(sha(await body(res))).toBe(sha(big.bytes));
  });

  it('GIVEN a file named with spaces, unicode and quotes THEN it downloads under its own name (filename*)', async () => {
    await writeSeededFile(path.join(fx.filesRoot, NAMED), 1 * MIB, 25);
    const id = await fx.split(NAMED, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    await fx.waitForStatus(id, ['complete']);
    const link = await share(id);
    expect(decodeURIComponent(link.split('/').at(-1)!)).toBe(NAMED);
    const res = await fetch(link);
    const disposition = res.headers.get('content-disposition')!;
    expect(disposition).toBe(`attachment; filename="my _holiday_ _ _t_ 2026.mkv"; filename*=UTF-8''${encodeURIComponent(NAMED)}`);
    expect(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1]!)).toBe(NAMED);
    await body(res);
  });

  it('GIVEN an encrypted transfer THEN its link serves the age file as posted, under <name>.age, and a recipient decrypts it', async () => {
    const key = await newIdentity(await tempDir());
    await writeSeededFile(path.join(fx.filesRoot, 'sealed.bin'), 3 * MIB + 5, 31);
    const id = await fx.split('sealed.bin', {
      chunkSizeMiB: 1,
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [{ name: 'recipient', type: 3, value: key.recipient }],
    });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const link = await share(id);
    expect(decodeURIComponent(link.split('/').at(-1)!)).toBe('sealed.bin.age');
    const res = await fetch(link);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=sealed.bin.age');
    const bytes = await body(res);
    expect(sha(bytes)).toBe(t.file_sha256);
    expect((await libraryDecrypt(bytes, key.secret)).equals(await readFile(path.join(fx.filesRoot, 'sealed.bin')))).toBe(true);
  });

  it('GIVEN /share of a transfer that is not complete, or by a member who may not THEN it is refused ephemerally', async () => {
    const handle = await fx.command({
      name: 'share',
      permissions: PERMISSIONS.MEMBER,
      user: { id: '554433221100998877' },
      options: [{ name: 'transfer', type: 3, value: big.id }],
    });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    expect(handle.ephemeral()).toBe(true);
    expect(handle.original()?.content).toMatch(/No transfer|may share it/);
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });

  it('GIVEN all of the above, broken and refused downloads included THEN no log line holds a download link or its token', () => {
    const stdout = fx.bot.stdout();
    expect(fx.bot.logs.some((l) => l.event === 'download_failed')).toBe(true);
    expect(stdout).not.toMatch(/eyJ[\w-]{4,}\.[\w-]{43}/);
    expect(stdout).not.toMatch(/\/d\/[\w-]+\.[\w-]+/);
  });
});

/**
 * `join --channel --message` as an operator runs it: the bot posts a file to the fake
 * Discord, then the CLI (its own process) downloads it back by the manifest message.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../src/transfer/manifest.js';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { sha256File } from '../support/hash.js';
import { findManifestMessage } from '../support/rebuild.js';
import { tempDir } from '../support/temp.js';
import { runCli } from './run-cli.js';
import { MIB } from '../support/units.js';

/** Links live this long; an upload test file's parts download in far less. */
const CDN_URL_TTL_MS = 1_500;
const CDN_GET = 'GET /attachments/:channel/:attachment/:filename';
const MESSAGE_GET = 'GET /channels/:id/messages/:mid';

interface Posted {
  id: string;
  name: string;
  sha256: string;
  channelId: string;
  manifestMessageId: string;
  manifest: Manifest;
}

describe('join --channel --message against the fake Discord', () => {
  let fx: BotFixture;
  let env: Record<string, string>;
  beforeAll(async () => {
    fx = await startBotFixture({ fake: { cdnUrlTtlMs: CDN_URL_TTL_MS }, env: { MAX_ACTIVE_TRANSFERS: '20' } });
    env = { DISCORD_TOKEN: fx.fake.token, DISCORD_API_URL: fx.fake.apiUrl, RETRY_BACKOFF_BASE_MS: '20' };
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** 5 MiB + 3 bytes in 1 MiB parts: six parts, three to a message. */
  async function post(name: string, seed: number): Promise<Posted> {
    const sha256 = await writeSeededFile(path.join(fx.filesRoot, name), 5 * MIB + 3, seed);
    const id = await fx.split(name, { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const message = findManifestMessage(fx.fake, id);
    if (!message) throw new Error(`no manifest message for ${id}`);
    const attachment = message.attachments[0]!;
    const manifest = parseManifest(JSON.parse(fx.fake.attachmentBytes(attachment.id).toString('utf8')));
    return { id, name, sha256, channelId: message.channel_id, manifestMessageId: message.id, manifest };
  }

  const joinArgs = (p: { channelId: string; manifestMessageId: string }, out: string, ...extra: string[]) => [
    'join',
    '--channel',
    p.channelId,
    '--message',
    p.manifestMessageId,
    '--out',
    out,
    ...extra,
  ];

  /** Posts a message with one attachment straight through the REST API, as another client could. */
  async function postAttachment(channelId: string, filename: string, data: Buffer): Promise<string> {
    const form = new FormData();
    form.append('payload_json', JSON.stringify({ content: 'hand-made manifest', attachments: [{ id: '0', filename }] }));
    form.append('files[0]', new Blob([data]), filename);
    const res = await fetch(`${fx.fake.apiUrl}/v10/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bot ${fx.fake.token}` },
      body: form,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  }

  it('GIVEN a posted file THEN join rebuilds it byte for byte and leaves only the output', async () => {
    const posted = await post('round trip.bin', 1);
    const dir = await tempDir();
    const out = path.join(dir, 'rebuilt.bin');
    const run = await runCli(joinArgs(posted, out), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`sha256 ${posted.sha256} verified`);
    expect(await sha256File(out)).toBe(posted.sha256);
    expect(await readdir(dir)).toEqual(['rebuilt.bin']);
  });

  it('GIVEN no --out THEN the file lands in the current directory under its own name', async () => {
    const posted = await post('default-name.bin', 2);
    const dir = await tempDir();
    const args = joinArgs(posted, 'x').slice(0, -2);
    const run = await runCli(args, env, { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(path.join(dir, 'default-name.bin'))).toBe(posted.sha256);
  });

  it('GIVEN a part link that expires before its download starts THEN join fetches the message again and succeeds', async () => {
    const posted = await post('expiring.bin', 3);
    const firstPart = posted.manifest.chunks[0]!;
    const from = fx.fake.requests.length;
    // Held past the link's expiry, this download meets the CDN's 404 like a day-old link would. The
    // delay counts from the download's start, after the link was issued, and the CDN checks the
    // expiry once it ends: a slower machine only makes the link older, so no hold is needed here.
    fx.fake.faults.add({
      route: (r) => r.route === CDN_GET && r.path.endsWith(`/${firstPart.name}`),
      kind: 'delay',
      ms: CDN_URL_TTL_MS + 700,
      times: 1,
    });
    const dir = await tempDir();
    const out = path.join(dir, 'rebuilt.bin');
    const run = await runCli(joinArgs(posted, out), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(posted.sha256);

    const requests = fx.fake.requests.slice(from);
    expect(requests.some((r) => r.route === CDN_GET && r.status === 404 && r.path.endsWith(`/${firstPart.name}`))).toBe(true);
    const fetchesOfFirstMessage = requests.filter((r) => r.route === MESSAGE_GET && r.path.endsWith(`/${firstPart.message_id}`));
    expect(fetchesOfFirstMessage.length).toBeGreaterThanOrEqual(2);
  });

  it('GIVEN the CDN answers 503 twice for a part THEN join retries and succeeds', async () => {
    const posted = await post('flaky-cdn.bin', 8);
    const part = posted.manifest.chunks[4]!;
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'status', status: 503, times: 2 });
    const out = path.join(await tempDir(), 'rebuilt.bin');
    const run = await runCli(joinArgs(posted, out), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(posted.sha256);
  });

  it('GIVEN the CDN cuts a part off midway, twice THEN join downloads it again, writes each byte once, and rebuilds the file', async () => {
    const posted = await post('cut-body.bin', 10);
    const part = posted.manifest.chunks[1]!;
    const from = fx.fake.requests.length;
    // The second cut ends before the first did, then one goes further: the output must neither repeat nor skip.
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'cutBody', bytes: 300_000, times: 1 });
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'cutBody', bytes: 100_000, times: 1 });
    const dir = await tempDir();
    const out = path.join(dir, 'rebuilt.bin');
    const run = await runCli(joinArgs(posted, out), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(posted.sha256);
    expect(fx.fake.requests.slice(from).filter((r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`))).toHaveLength(3);
    expect(await readdir(dir)).toEqual(['rebuilt.bin']);
  });

  it('GIVEN --out a FIFO with --force AND a part cut off midway THEN the bytes stream into it once each, and it stays a FIFO', async () => {
    const posted = await post('to-a-pipe.bin', 11);
    const part = posted.manifest.chunks[2]!;
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'cutBody', bytes: 200_000, times: 1 });
    const dir = await tempDir();
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const hash = createHash('sha256');
    let size = 0;
    reader.stdout.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
    });
    const closed = new Promise<void>((resolve) => reader.once('close', () => resolve()));
    const run = await runCli(joinArgs(posted, fifo, '--force'), env);
    const kill = setTimeout(() => reader.kill('SIGKILL'), 5_000);
    await closed;
    clearTimeout(kill);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`rebuilt ${fifo}`);
    expect(size).toBe(posted.manifest.file.size);
    expect(hash.digest('hex')).toBe(posted.sha256);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('GIVEN --out a FIFO AND a part the CDN serves with one wrong byte THEN exit 1 naming the part, and the FIFO got only the checked parts before it', async () => {
    const posted = await post('wrong-byte.bin', 12);
    const source = await readFile(path.join(fx.filesRoot, 'wrong-byte.bin'));
    const part = posted.manifest.chunks[2]!;
    fx.fake.corruptAttachment(part.attachment_id!, 100);
    const dir = await tempDir();
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const got: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => got.push(c));
    const closed = new Promise<void>((resolve) => reader.once('close', () => resolve()));
    // Its own temp folder, to see that the part held back for its check is not left there.
    const staging = await tempDir();
    const run = await runCli(joinArgs(posted, fifo, '--force'), { ...env, TMPDIR: staging });
    const kill = setTimeout(() => reader.kill('SIGKILL'), 5_000);
    await closed;
    clearTimeout(kill);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: part ${part.name.replace(/\./g, '\\.')} does not match the manifest`, 'm'));
    const bytes = Buffer.concat(got);
    expect(bytes.length).toBeLessThanOrEqual(part.offset);
    expect(bytes.equals(source.subarray(0, bytes.length))).toBe(true);
    // (tsx keeps its cache there too.)
    expect((await readdir(staging)).filter((n) => n.startsWith('dfs-part-'))).toEqual([]);
  });

  it('GIVEN the CDN keeps failing for a part THEN exit 1 naming the part after the retry limit', async () => {
    const posted = await post('dead-cdn.bin', 9);
    const part = posted.manifest.chunks[2]!;
    fx.fake.faults.add({ route: (r) => r.route === CDN_GET && r.path.endsWith(`/${part.name}`), kind: 'status', status: 503, times: 3 });
    const dir = await tempDir();
    const run = await runCli(joinArgs(posted, path.join(dir, 'rebuilt.bin')), { ...env, RETRY_LIMIT_PER_CHUNK: '2' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: part ${part.name}: gave up after 3 attempt(s): the attachment link answered 503\n`);
    expect(await readdir(dir)).toEqual([]);
    expect(fx.fake.faults.pending()).toEqual([]);
  });

  it('GIVEN a deleted part message THEN exit 1 naming its first part, and no file is left', async () => {
    const posted = await post('deleted.bin', 4);
    const victim = posted.manifest.chunks[3]!;
    const channelId = victim.channel_id ?? posted.channelId;
    // Its thread was archived at the end, where Discord refuses to delete a message: a moderator reopens it first.
    if (fx.fake.threads().some((t) => t.id === channelId && t.archived)) fx.fake.moderateThread(channelId, { archived: false });
    const res = await fetch(`${fx.fake.apiUrl}/v10/channels/${channelId}/messages/${victim.message_id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bot ${fx.fake.token}` },
    });
    expect(res.status).toBe(204);
    const dir = await tempDir();
    const run = await runCli(joinArgs(posted, path.join(dir, 'rebuilt.bin')), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: part ${victim.name.replace(/\./g, '\\.')}: its message ${victim.message_id} is gone`, 'm'));
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    [
      'a part hash',
      (m: Manifest) => void (m.chunks[1]!.sha256 = 'f'.repeat(64)),
      (m: Manifest) => `part ${m.chunks[1]!.name} does not match the manifest (sha256 differs)`,
    ],
    [
      'the whole-file hash',
      (m: Manifest) => void (m.file.sha256 = '0'.repeat(64)),
      (m: Manifest) => `the rebuilt ${m.file.name} does not match the manifest's sha256`,
    ],
  ])('GIVEN a manifest with %s changed THEN exit 1 and no file is left', async (label, tamper, expected) => {
    const posted = await post(`tampered-${label.replace(/\W+/g, '-')}.bin`, 5);
    const manifest = structuredClone(posted.manifest);
    tamper(manifest);
    const messageId = await postAttachment(posted.channelId, `${posted.name}.manifest.json`, Buffer.from(JSON.stringify(manifest)));
    const dir = await tempDir();
    const run = await runCli(joinArgs({ channelId: posted.channelId, manifestMessageId: messageId }, path.join(dir, 'rebuilt.bin')), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: ${expected(manifest)}\n`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('GIVEN a manifest whose part size differs from the posted attachment THEN exit 1 naming that part', async () => {
    const posted = await post('resized.bin', 6);
    const manifest = structuredClone(posted.manifest);
    // Move one byte from the last part to the one before it: still tiles the file, but no longer matches Discord.
    const [before, last] = [manifest.chunks.at(-2)!, manifest.chunks.at(-1)!];
    before.size += 1;
    last.size -= 1;
    last.offset += 1;
    const messageId = await postAttachment(posted.channelId, `${posted.name}.manifest.json`, Buffer.from(JSON.stringify(manifest)));
    const dir = await tempDir();
    const run = await runCli(joinArgs({ channelId: posted.channelId, manifestMessageId: messageId }, path.join(dir, 'rebuilt.bin')), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`part ${before.name} is ${before.size - 1} bytes on Discord, the manifest says ${before.size}`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('GIVEN a message without a manifest THEN exit 1 saying so', async () => {
    const messageId = await postAttachment(fx.fake.channels[0]!.id, 'notes.txt', Buffer.from('hello'));
    const run = await runCli(joinArgs({ channelId: fx.fake.channels[0]!.id, manifestMessageId: messageId }, path.join(await tempDir(), 'o')), env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('has no .manifest.json attachment');
  });

  it('GIVEN a wrong token THEN exit 1 with a clear message that never shows the token', async () => {
    const token = 'wrong-token-0123456789abcdef';
    const dir = await tempDir();
    const run = await runCli(joinArgs({ channelId: fx.fake.channels[0]!.id, manifestMessageId: '123456789012345678' }, path.join(dir, 'o')), {
      ...env,
      DISCORD_TOKEN: token,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: Discord rejected DISCORD_TOKEN (401 Unauthorized); check the token\n');
    expect(run.stdout + run.stderr).not.toContain(token);
    expect(await readdir(dir)).toEqual([]);
  });

  it('GIVEN an existing output THEN refused before asking Discord, and --force replaces it', async () => {
    const posted = await post('exists.bin', 7);
    const dir = await tempDir();
    const out = path.join(dir, 'exists.bin');
    await writeFile(out, 'old');
    const from = fx.fake.requests.length;
    const refused = await runCli(joinArgs(posted, out), env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists \(use --force/);
    expect(fx.fake.requests.slice(from).filter((r) => r.route === MESSAGE_GET)).toEqual([]);
    const forced = await runCli(joinArgs(posted, out, '--force'), env);
    expect(forced.code).toBe(0);
    expect(await sha256File(out)).toBe(posted.sha256);
  });
});

describe('join --channel --message usage', () => {
  it.each([
    ['no --message', ['join', '--channel', '123456789012345678'], /needs both --channel and --message/],
    [
      'a manifest file too',
      ['join', 'x.manifest.json', '--channel', '123456789012345678', '--message', '123456789012345679'],
      /takes no manifest file/,
    ],
    ['an id that is not a snowflake', ['join', '--channel', 'general', '--message', '123456789012345679'], /--channel "general" is not a Discord id/],
  ])('GIVEN %s THEN exit 2 with the usage', async (_label, args, expected) => {
    const run = await runCli(args, { DISCORD_TOKEN: 'unused-token-value' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).toContain('join --channel ID --message ID');
  });

  it('GIVEN no DISCORD_TOKEN THEN exit 1 naming the variable', async () => {
    const run = await runCli(['join', '--channel', '123456789012345678', '--message', '123456789012345679']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('DISCORD_TOKEN is required');
  });
});

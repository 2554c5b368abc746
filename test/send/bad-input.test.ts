/**
 * Every bad input to sending from a member's computer gets a clear answer and records nothing
 * it should not: hostile metadata, bad lengths, bodies and offsets, used or forged links and
 * grants, another Origin, another member's upload, MAX_ACTIVE_TRANSFERS, a cancelled or
 * finished upload, no staging room, `/send` refused. The bot runs as its own process against
 * the fake Discord; tus is spoken by hand (`fetch`) for the cases a client library never sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendGrants } from '../../src/send/grant.js';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256 } from '../support/hash.js';
import { freePort } from '../support/ports.js';
import { seededBytes } from '../support/random-file.js';
import { redeem, sendLink } from '../support/send.js';
import { createUpload, filenameMetadata, headOffset, patchUpload, tusRequest } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const MAX_FILE = 256 * MIB;
/** May start transfers without Manage Server (ALLOWED_USER_IDS), but posts nowhere it lacks Send Messages. */
const LISTED = '310000000000000001';
const VIEW_ONLY = (1n << 10n) | (1n << 16n);

let fx: BotFixture;
let base: string;
/** Every link and grant handed out: none may reach the bot's log. */
const secrets: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  fx = await startBotFixture({
    env: {
      WEB_PORT: String(port),
      WEB_SECRET: SECRET,
      MAX_FILE_SIZE_BYTES: String(MAX_FILE),
      MAX_ACTIVE_TRANSFERS: '2',
      ALLOWED_USER_IDS: LISTED,
      STAGING_PER_UPLOAD_BYTES: String(16 * MIB),
      // Each upload of 17 MiB or more holds 16 MiB + one 1 MiB part: two fit, not three.
      STAGING_MAX_BYTES: String(40 * MIB),
    },
  });
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await fx.stop();
});

let users = 0;
/** A grant for a fresh member (each case its own, so MAX_ACTIVE_TRANSFERS and shares do not mix). */
async function grantFor(userId = `32000000000000${String(++users).padStart(4, '0')}`): Promise<{ grant: string; files: string; userId: string }> {
  const reply = await sendLink(fx, { user: { id: userId }, options: [{ name: 'chunk_size', type: 4, value: 1 }] });
  if (!reply.link) throw new Error(`/send gave no link: ${reply.content}`);
  const { grant, files } = await redeem(reply.link);
  if (!grant || !files) throw new Error('the link was not redeemed');
  secrets.push(reply.link, new URL(reply.link).searchParams.get('token')!, grant);
  return { grant, files, userId };
}

const transferIds = async () => (await fx.readProgress()).active_transfers.map((t) => t.id);
const idOf = (url: string) => url.split('/').pop()!;
/** The attachments posted for a transfer named `fileName`: its parts and its manifest. */
const postedNames = (fileName: string) =>
  fx.fake
    .messages()
    .flatMap((m) => m.attachments.map((a) => a.filename))
    .filter((name) => name.startsWith(`${fileName}.`));

describe('sending: hostile Upload-Metadata', () => {
  it.each([
    ['path separators', '../../etc/passwd', 'passwd'],
    ['control characters and newlines', 'evil\r\nname\u0000\u001b[31m.bin', null],
    ['a 10,000-character name', `${'x'.repeat(10_000)}.bin`, null],
  ])('GIVEN a filename with %s WHEN it is uploaded THEN the parts get a safe name of at most 200 characters', async (_case, name, expected) => {
    const { grant, files } = await grantFor();
    const bytes = seededBytes(1 * MIB + 5, 7);
    const created = await createUpload(files, grant, bytes.length, { 'Upload-Metadata': filenameMetadata(name) });
    expect(created.status).toBe(201);
    expect((await patchUpload(created.url!, grant, 0, bytes)).status).toBe(204);
    const t = await fx.waitForStatus(idOf(created.url!), ['complete', 'error', 'cancelled']);
    expect(t.status).toBe('complete');
    expect(t.file_sha256).toBe(sha256(bytes));
    if (expected !== null) expect(t.file_name).toBe(expected);
    expect(t.file_name.length).toBeLessThanOrEqual(200);
    // The name as the sender gave it is recorded too (the download link's name comes from it):
    // without control characters, and at most 255 characters.
    for (const kept of [t.original_name!, (t.source as { name: string }).name]) {
      expect(kept.length).toBeLessThanOrEqual(255);
      // eslint-disable-next-line no-control-regex
      expect(kept).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
    // Two parts and the manifest; a part adds `.part001` to the name.
    const names = postedNames(t.file_name);
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const posted of names) {
      expect(posted.length).toBeLessThanOrEqual(220);
      // eslint-disable-next-line no-control-regex
      expect(posted).not.toMatch(/[/\\\u0000-\u001f\u007f]|^\./);
    }
  });

  it('GIVEN Upload-Metadata that is not base64 WHEN an upload is created THEN 400 and nothing is recorded', async () => {
    const { grant, files } = await grantFor();
    const before = await transferIds();
    for (const metadata of ['filename ***not base64***', 'filename abc', 'filename YQ==,filename YQ==', 'file name x y']) {
      const answer = await createUpload(files, grant, 10, { 'Upload-Metadata': metadata });
      expect(answer.status, metadata).toBe(400);
    }
    expect(await transferIds()).toEqual(before);
  });
});

describe('sending: bad lengths, bodies and offsets', () => {
  it('GIVEN a missing, zero, deferred or too large Upload-Length THEN tus refuses it (400, 501, 413) and nothing is recorded', async () => {
    const { grant, files } = await grantFor();
    const before = await transferIds();
    const missing = await tusRequest('POST', files, { grant });
    expect(missing.status).toBe(400);
    const zero = await createUpload(files, grant, 0);
    expect(zero.status).toBe(400);
    expect(zero.body).toMatch(/empty/);
    const deferred = await tusRequest('POST', files, { grant, headers: { 'Upload-Defer-Length': '1' } });
    // tus's own answer: the creation-defer-length extension is not offered.
    expect(deferred.status).toBe(501);
    const negative = await tusRequest('POST', files, { grant, headers: { 'Upload-Length': '-5' } });
    expect(negative.status).toBe(400);
    const large = await createUpload(files, grant, MAX_FILE + 1);
    expect(large.status).toBe(413);
    expect(large.body).toMatch(/MAX_FILE_SIZE_BYTES/);
    expect(await transferIds()).toEqual(before);
  });

  it('GIVEN a staged upload WHEN a PATCH has a wrong offset or more bytes than remain THEN tus refuses it and nothing staged is lost', async () => {
    const { grant, files } = await grantFor();
    const bytes = seededBytes(3 * MIB, 11);
    const created = await createUpload(files, grant, bytes.length, { 'Upload-Metadata': filenameMetadata('b.bin') });
    expect(created.status).toBe(201);
    const url = created.url!;
    const first = MIB + 100;
    expect((await patchUpload(url, grant, 0, bytes.subarray(0, first))).status).toBe(204);
    // A wrong offset: 409, nothing changed.
    expect((await patchUpload(url, grant, 0, bytes.subarray(0, 10))).status).toBe(409);
    expect((await patchUpload(url, grant, first + 1, bytes.subarray(first + 1, first + 10))).status).toBe(409);
    expect(await headOffset(url, grant)).toBe(first);
    // A body past the length (its Content-Length says so): tus's 413, nothing changed.
    const past = Buffer.concat([bytes.subarray(first), Buffer.alloc(10)]);
    const tooLong = await patchUpload(url, grant, first, past);
    expect(tooLong.status).toBe(413);
    expect(await headOffset(url, grant)).toBe(first);
    // The rest, sent properly, makes the file.
    expect((await patchUpload(url, grant, first, bytes.subarray(first))).status).toBe(204);
    const t = await fx.waitForStatus(idOf(url), ['complete', 'error', 'cancelled']);
    expect(t.status).toBe('complete');
    expect(t.file_sha256).toBe(sha256(bytes));
    // A finished upload takes nothing more.
    expect((await patchUpload(url, grant, bytes.length, Buffer.alloc(1))).status).toBe(413);
    expect((await patchUpload(url, grant, 0, Buffer.alloc(1))).status).toBe(409);
    expect(await headOffset(url, grant)).toBe(bytes.length);
  });
  it("GIVEN a staged upload WHEN a streamed PATCH (no Content-Length) brings more bytes than remain THEN tus's 413, not a 500, and nothing staged is lost", async () => {
    const { grant, files } = await grantFor();
    const bytes = seededBytes(2 * MIB, 12);
    const created = await createUpload(files, grant, bytes.length);
    const url = created.url!;
    const first = MIB + 7;
    expect((await patchUpload(url, grant, 0, bytes.subarray(0, first))).status).toBe(204);
    const past = Buffer.concat([bytes.subarray(first), Buffer.alloc(10)]);
    const streamed = await tusRequest('PATCH', url, {
      grant,
      headers: { 'Upload-Offset': String(first), 'Content-Type': 'application/offset+octet-stream' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(past);
          controller.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
    // What arrived before the byte past the length may be staged (how the body was cut on its way is
    // the network's); never a byte past it. The client asks HEAD and goes on from there, as tus says.
    const offset = (await headOffset(url, grant))!;
    expect(offset).toBeGreaterThanOrEqual(first);
    expect(offset).toBeLessThanOrEqual(bytes.length);
    if (offset < bytes.length) expect((await patchUpload(url, grant, offset, bytes.subarray(offset))).status).toBe(204);
    const t = await fx.waitForStatus(idOf(url), ['complete', 'error', 'cancelled']);
    expect(t.status).toBe('complete');
    expect(t.file_sha256).toBe(sha256(bytes));
  });
});

describe('sending: links, grants, origins and other members', () => {
  it('GIVEN a used or forged upload link WHEN it is opened THEN 401 and no sign-in is recorded', async () => {
    const reply = await sendLink(fx, { user: { id: '330000000000000001' } });
    secrets.push(reply.link!);
    expect((await redeem(reply.link!)).status).toBe(200);
    expect((await redeem(reply.link!)).status).toBe(401);
    const forged = new URL(reply.link!);
    forged.searchParams.set('token', 'eyJ1IjoiMSJ9.AAAA');
    expect((await redeem(forged.toString())).status).toBe(401);
    const page = await fetch(forged, { redirect: 'manual' });
    expect(page.status).toBe(401);
    expect(await page.text()).toMatch(/Run \/send/);
  });

  it('GIVEN a forged, expired or missing grant WHEN tus is asked THEN 401 and nothing is recorded', async () => {
    const { grant, files, userId } = await grantFor();
    const before = await transferIds();
    const target = { channelId: fx.fake.channels[0]!.id, chunkSize: MIB, attachmentSizeLimit: null, recipients: [] };
    const expired = new SendGrants(SECRET, () => Date.now() - 13 * 3_600_000).sign(userId, fx.fake.guildId, target);
    const otherSecret = new SendGrants('another-secret-0123456789abcdefghijkl').sign(userId, fx.fake.guildId, target);
    const tampered = `${grant.slice(0, -2)}${grant.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const bad of [null, 'nonsense', expired, otherSecret, tampered]) {
      const answer = await tusRequest('POST', files, { grant: bad, headers: { 'Upload-Length': '10' } });
      expect(answer.status, String(bad)).toBe(401);
      expect(answer.body).toMatch(/not valid/);
    }
    expect(await transferIds()).toEqual(before);
  });

  it('GIVEN another Origin WHEN tus is asked with a good grant THEN 403 and nothing is recorded', async () => {
    const { grant, files } = await grantFor();
    const before = await transferIds();
    const answer = await tusRequest('POST', files, { grant, headers: { 'Upload-Length': '10', Origin: 'https://evil.example' } });
    expect(answer.status).toBe(403);
    expect(await transferIds()).toEqual(before);
    // The page's own Origin is fine.
    const own = await createUpload(files, grant, 10, { Origin: base });
    expect(own.status).toBe(201);
    expect((await tusRequest('DELETE', own.url!, { grant, headers: { Origin: 'https://evil.example' } })).status).toBe(403);
    expect(await headOffset(own.url!, grant)).toBe(0);
  });

  it("GIVEN another member's upload WHEN HEAD, PATCH, DELETE or its status is asked THEN 404, and the upload goes on", async () => {
    const owner = await grantFor();
    const other = await grantFor();
    const bytes = seededBytes(2 * MIB, 3);
    const created = await createUpload(owner.files, owner.grant, bytes.length);
    const url = created.url!;
    expect((await tusRequest('HEAD', url, { grant: other.grant })).status).toBe(404);
    expect((await patchUpload(url, other.grant, 0, bytes.subarray(0, 10))).status).toBe(404);
    expect((await tusRequest('DELETE', url, { grant: other.grant })).status).toBe(404);
    const status = await fetch(`${base}/send/status/${idOf(url)}`, { headers: { Authorization: `Bearer ${other.grant}` } });
    expect(status.status).toBe(404);
    await status.arrayBuffer();
    // An id that does not exist reads the same.
    expect((await tusRequest('HEAD', `${owner.files}upload_zzzzzzzz`, { grant: owner.grant })).status).toBe(404);
    expect(await headOffset(url, owner.grant)).toBe(0);
    expect((await patchUpload(url, owner.grant, 0, bytes)).status).toBe(204);
    expect((await fx.waitForStatus(idOf(url), ['complete', 'error', 'cancelled'])).status).toBe('complete');
  });

  it('GIVEN a cancelled upload WHEN a PATCH comes THEN 410 with the reason', async () => {
    const { grant, files } = await grantFor();
    const created = await createUpload(files, grant, 2 * MIB);
    expect((await tusRequest('DELETE', created.url!, { grant })).status).toBe(204);
    expect((await fx.waitForStatus(idOf(created.url!), ['cancelled'])).status).toBe('cancelled');
    const answer = await patchUpload(created.url!, grant, 0, Buffer.alloc(10));
    expect(answer.status).toBe(410);
    expect(answer.body).toMatch(/cancelled/);
    expect((await tusRequest('HEAD', created.url!, { grant })).status).toBe(410);
  });
});

describe('sending: limits', () => {
  it('GIVEN MAX_ACTIVE_TRANSFERS=2 WHEN three uploads are created at the same instant THEN one is refused with the reason and two are recorded', async () => {
    const { grant, files, userId } = await grantFor();
    const answers = await Promise.all([1, 2, 3].map(() => createUpload(files, grant, 10)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 201, 403]);
    expect(answers.find((a) => a.status === 403)!.body).toMatch(/the limit is 2/);
    const mine = (await fx.readProgress()).active_transfers.filter((t) => t.owner_id === userId);
    expect(mine).toHaveLength(2);
    // A fourth, later, is refused too; a cancel gives the slot back.
    expect((await createUpload(files, grant, 10)).status).toBe(403);
    expect((await tusRequest('DELETE', answers.find((a) => a.status === 201)!.url!, { grant })).status).toBe(204);
    expect((await createUpload(files, grant, 10)).status).toBe(201);
  });

  it('GIVEN STAGING_MAX_BYTES held by two uploads WHEN a third is created THEN it is refused with a clear message and nothing recorded', async () => {
    const a = await grantFor();
    const b = await grantFor();
    const c = await grantFor();
    const first = await createUpload(a.files, a.grant, 100 * MIB);
    const second = await createUpload(b.files, b.grant, 100 * MIB);
    expect([first.status, second.status]).toEqual([201, 201]);
    const before = await transferIds();
    const third = await createUpload(c.files, c.grant, 100 * MIB);
    expect(third.status).toBe(507);
    expect(third.body).toMatch(/no staging room/);
    expect(await transferIds()).toEqual(before);
    // Once one ends, there is room again.
    expect((await tusRequest('DELETE', first.url!, { grant: a.grant })).status).toBe(204);
    await fx.waitForStatus(idOf(first.url!), ['cancelled']);
    const again = await createUpload(c.files, c.grant, 100 * MIB);
    expect(again.status).toBe(201);
    for (const [url, grant] of [
      [second.url!, b.grant],
      [again.url!, c.grant],
    ] as const)
      expect((await tusRequest('DELETE', url, { grant })).status).toBe(204);
  });
});

describe('sending: /send refused', () => {
  it('GIVEN a member not allowed to start transfers WHEN /send THEN an ephemeral refusal and no link', async () => {
    const reply = await sendLink(fx, { user: { id: '340000000000000001' }, permissions: PERMISSIONS.MEMBER });
    expect(reply.ephemeral).toBe(true);
    expect(reply.link).toBeNull();
    expect(reply.content).toMatch(/not allowed to start transfers/);
  });

  it('GIVEN a member who cannot post in the channel WHEN /send THEN an ephemeral refusal and no link', async () => {
    const reply = await sendLink(fx, { user: { id: LISTED }, permissions: VIEW_ONLY });
    expect(reply.ephemeral).toBe(true);
    expect(reply.link).toBeNull();
    expect(reply.content).toMatch(/can't post in/);
  });

  it('GIVEN all of the above THEN no error-level log line, and no link token or grant in the log', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
    const log = fx.bot.stdout() + fx.bot.stderr();
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(log.includes(secret), 'a link or grant in the log').toBe(false);
  });
});

describe('sending: /send with the web page off', () => {
  it('GIVEN no WEB_PORT WHEN /send THEN it says which key turns the web page on', async () => {
    const off = await startBotFixture();
    try {
      const handle = await off.command({ name: 'send', permissions: PERMISSIONS.ADMINISTRATOR });
      await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
      expect(handle.ephemeral()).toBe(true);
      expect(handle.original()?.content).toMatch(/WEB_PORT/);
      expect(unexpectedErrors(off.bot)).toEqual([]);
    } finally {
      await off.stop();
    }
  });
});

/**
 * A PATCH held by the staging pause (Discord slower than the sender) is not reading its body:
 * a newer request for the same upload (a sender whose connection died silently, retrying on a
 * new one) must still get the upload's offset, instead of waiting for tus's lock until
 * Discord catches up. The bot runs as its own process against the fake Discord, its posts held.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { redeem, sendLink } from '../support/send.js';
import { MIB } from '../support/units.js';

function stagedBytes(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
  } catch {
    return 0;
  }
}

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

describe('a paused PATCH and a newer request', () => {
  it(
    'GIVEN a PATCH paused because Discord is held WHEN another request for the upload comes THEN it gets the offset at once, and the upload then completes',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, STAGING_PER_UPLOAD_BYTES: String(MIB) } });
      const held = holdAfterParts(fx.fake, 0);
      const { link } = await sendLink(fx, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
      const { grant, files } = await redeem(link!);
      const auth = { Authorization: `Bearer ${grant}`, 'Tus-Resumable': '1.0.0' };
      const size = 6 * MIB;
      const created = await fetch(files!, { method: 'POST', headers: { ...auth, 'Upload-Length': String(size) } });
      expect(created.status).toBe(201);
      const url = new URL(created.headers.get('location')!, files!).href;
      const body = Buffer.alloc(size, 7);
      const controller = new AbortController();
      // The first PATCH sends everything; the bot stops reading it once ~1 MiB waits to be posted.
      const first = fetch(url, {
        method: 'PATCH',
        headers: { ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        body: Readable.toWeb(Readable.from([body])) as ReadableStream,
        duplex: 'half',
        signal: controller.signal,
      }).catch((error: unknown) => error);
      // Not a HEAD to see it: a newer request ends the PATCH (that is the point of this test).
      const id = new URL(url).pathname.split('/').pop()!;
      await waitUntil(() => stagedBytes(path.join(fx!.work, 'staging', id)) >= MIB, 'a MiB staged');
      // The first PATCH is paused now (Discord holds every post): a HEAD still answers.
      const head = await fetch(url, { method: 'HEAD', headers: auth });
      expect(head.status).toBe(200);
      const at = Number(head.headers.get('upload-offset'));
      expect(at).toBeLessThan(size);
      controller.abort();
      await first;
      held.release();
      const rest = await fetch(url, {
        method: 'PATCH',
        headers: { ...auth, 'Upload-Offset': String(at), 'Content-Type': 'application/offset+octet-stream' },
        body: body.subarray(at),
      });
      expect(rest.status).toBe(204);
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(unexpectedErrors(fx.bot)).toEqual([]);
    },
  );
});

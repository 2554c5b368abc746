/**
 * What the web page's dispatcher makes of requests no browser sends: a request target that is
 * not a URL, a path starting `//`, HEAD on a page, a client that goes away mid-form. Raw
 * sockets, since fetch would normalise or refuse these; the bot as its own process.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { withTimeout } from '../support/wait.js';
import { dashboardLink, signIn } from '../support/web.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

/** Sends `head` (and `body`) on a fresh socket; the whole answer once the server closes it. */
function rawRequest(port: number, head: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}Connection: close\r\n\r\n`));
      let answer = '';
      socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    }),
    10_000,
    'the raw request',
  );
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

describe('requests no browser sends', () => {
  let fx: BotFixture;
  let port: number;
  let cookie: string;

  beforeAll(async () => {
    port = await freePort();
    fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, LOG_LEVEL: 'debug' } });
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.MEMBER });
    cookie = (await signIn(link!)).cookie!;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN a request target that is not a URL (with or without a sign-in token) THEN 400', async () => {
    for (const target of ['http://[/login?token=abc', 'login?token=abc', '*']) {
      const answer = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n`);
      expect(statusOf(answer), target).toBe(400);
    }
  });

  it('GIVEN a path starting with // THEN it is that path, not a host: no route serves it', async () => {
    for (const target of ['//x/static/dashboard.js', '//[']) {
      const answer = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n`);
      expect(statusOf(answer), target).toBe(401);
    }
  });

  it('GIVEN a session WHEN HEAD on a page THEN its GET status and headers, no body', async () => {
    for (const route of ['/', '/session']) {
      const answer = await rawRequest(port, `HEAD ${route} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n`);
      expect(statusOf(answer), route).toBe(200);
      expect(answer.split('\r\n\r\n')[1], route).toBe('');
    }
  });

  it('GIVEN a signed-in form post WHEN the client goes away mid-body THEN no error line: a client leaving is not the bot failing', async () => {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write(
            `POST /signout HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
              `Content-Length: 100\r\nExpect: 100-continue\r\n\r\n`,
          ),
        );
        // The server answers 100 Continue once the request reached its handler.
        socket.setEncoding('utf8').once('data', () => {
          socket.write('csrf=');
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      }),
      10_000,
      'the 100 Continue',
    );
    await fx.bot.waitForLog((l) => l['event'] === 'web_client_gone');
    // The bot writes its lines in order: every earlier request's line, an error of the bad targets' included, is in by now.
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

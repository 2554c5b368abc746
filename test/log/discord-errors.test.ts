/**
 * Every kind of error discord.js throws, through the logger: what it means (status, code,
 * method, route) is logged; the request it failed on (its body: a reply with a sign-in or
 * download link; its URL: an interaction's or a webhook's token) never is.
 */
import { Writable } from 'node:stream';
import { DiscordAPIError, DiscordjsError, DiscordjsErrorCodes, DiscordjsTypeError, HTTPError, RateLimitError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { DownloadError, SinkError, UserError } from '../../src/errors.js';
import { createLogger, LogRedactions } from '../../src/log.js';

const API = 'http://127.0.0.1:9/api/v10';
const INTERACTION_ID = '1234567890123456789';
const APP_ID = '1122334455667788990';
const INTERACTION_TOKEN = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQtaW50ZXJhY3Rpb24tdG9rZW4';
const SIGN_IN_TOKEN = `eyJ1IjoiMTIzIiwiZyI6bnVsbH0.${'S'.repeat(43)}`;
const DOWNLOAD_TOKEN = `eyJ0IjoidXBsb2FkX2FiYzEyMyJ9.${'D'.repeat(43)}`;
const SIGN_IN_LINK = `http://127.0.0.1:8080/login?token=${SIGN_IN_TOKEN}`;
const DOWNLOAD_LINK = `http://127.0.0.1:8080/d/${DOWNLOAD_TOKEN}/movie.mkv`;
const CALLBACK_URL = `${API}/interactions/${INTERACTION_ID}/${INTERACTION_TOKEN}/callback?with_response=false`;
const ORIGINAL_URL = `${API}/webhooks/${APP_ID}/${INTERACTION_TOKEN}/messages/@original`;
const FOLLOW_UP_URL = `${API}/webhooks/${APP_ID}/${INTERACTION_TOKEN}?wait=true`;
const SECRETS = [INTERACTION_TOKEN, SIGN_IN_TOKEN, DOWNLOAD_TOKEN, 'do not share it', 'anyone with it can download'];

/** The request data discord.js keeps on its errors (`{ body, files }`), here a reply with both links. */
function replyRequest() {
  return {
    body: { type: 4, data: { content: `Your sign-in link (works once; do not share it): ${SIGN_IN_LINK}`, flags: 64 } },
    files: [{ name: 'note.txt', data: Buffer.from(`anyone with it can download: ${DOWNLOAD_LINK}`) }],
  };
}

// discord.js makes these itself (their constructors are private in its typings): as it does, from a code and its arguments.
const djsError = (Class: unknown, ...args: unknown[]) => new (Class as new (...a: unknown[]) => Error)(...args);

const apiError = (status: number, code: number, message: string, url: string, method = 'POST') =>
  new DiscordAPIError({ code, message }, code, status, method, url, replyRequest());

function capture(options: { secrets?: string[]; redactions?: LogRedactions } = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination, ...options });
  return { log, lines };
}

/** Every kind discord.js throws, alone and as we wrap them. */
function everyKind(): [string, unknown][] {
  const unknownInteraction = apiError(404, 10062, 'Unknown interaction', CALLBACK_URL);
  const serverError = new HTTPError(500, 'Internal Server Error', 'PATCH', ORIGINAL_URL, replyRequest());
  const rateLimit = new RateLimitError({
    timeToReset: 1500,
    limit: 5,
    method: 'POST',
    hash: 'Global(POST:/webhooks/:id/:token)',
    url: FOLLOW_UP_URL,
    route: '/webhooks/:id/:token',
    majorParameter: `${APP_ID}/${INTERACTION_TOKEN}`,
    global: false,
    retryAfter: 1500,
    sublimitTimeout: 0,
    scope: 'user',
  });
  const abort = new DOMException('This operation was aborted', 'AbortError');
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  return [
    ['DiscordAPIError 10062 on the callback', unknownInteraction],
    ['DiscordAPIError 40060 on a follow-up', apiError(400, 40060, 'Interaction has already been acknowledged.', FOLLOW_UP_URL)],
    ['HTTPError 500 on editReply', serverError],
    ['RateLimitError on a follow-up', rateLimit],
    ['DiscordjsError', djsError(DiscordjsError, DiscordjsErrorCodes.InteractionAlreadyReplied)],
    ['DiscordjsTypeError', djsError(DiscordjsTypeError, DiscordjsErrorCodes.InvalidType, 'content', 'string', true)],
    ['AbortError', abort],
    ['TimeoutError', timeout],
    ['fetch failed (undici)', fetchFailed],
    ['a SinkError caused by a DiscordAPIError', new SinkError('Discord refused the request', 'fatal', 'http_404', { cause: unknownInteraction })],
    ['a DownloadError caused by an HTTPError', new DownloadError('message 1: Discord answered 500', true, { cause: serverError })],
    ['a UserError caused by a cause caused by one', new UserError('outer', { cause: new Error('middle', { cause: rateLimit }) })],
    ['an AggregateError of them', new AggregateError([unknownInteraction, serverError, rateLimit, abort], 'several failed')],
    ['an error holding one in a field', Object.assign(new Error('wrapper'), { response: serverError, url: CALLBACK_URL })],
    ['an error holding one inside a plain object', Object.assign(new Error('wrapper'), { detail: { attempts: [{ error: unknownInteraction }] } })],
  ];
}

describe('discord.js errors in the log', () => {
  for (const setup of [
    { label: 'plain logger', options: {} },
    { label: "the bot's logger (token, LOG_REDACT_FILENAMES)", options: { secrets: ['a-secret-token-value'], redactions: new LogRedactions(true) } },
  ]) {
    it(`GIVEN every kind of discord.js error, alone and wrapped (${setup.label}) THEN no line holds a request body, an interaction token or a link's token`, () => {
      const { log, lines } = capture(setup.options);
      for (const [what, error] of everyKind()) log.error({ err: error, what }, 'command failed');
      expect(lines).toHaveLength(everyKind().length);
      for (const line of lines) {
        const what = (JSON.parse(line) as { what: string }).what;
        for (const secret of SECRETS) expect(line, `${what}: the line holds ${secret}`).not.toContain(secret);
        expect(line, what).not.toContain('requestBody');
      }
    });
  }

  it('GIVEN a DiscordAPIError on an interaction callback THEN the line says its status, code, method and route with the token replaced', () => {
    const { log, lines } = capture();
    log.error({ err: apiError(404, 10062, 'Unknown interaction', CALLBACK_URL) }, 'command failed');
    const { err } = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(err).toMatchObject({
      type: 'DiscordAPIError',
      message: 'Unknown interaction',
      status: 404,
      code: 10062,
      method: 'POST',
      route: `/interactions/${INTERACTION_ID}/:token/callback`,
    });
    expect(err['stack']).toEqual(expect.stringContaining('DiscordAPIError[10062]: Unknown interaction'));
  });

  it('GIVEN an HTTPError and a RateLimitError on webhook routes THEN their routes keep the application id and lose the token', () => {
    const { log, lines } = capture();
    const kinds = new Map(everyKind());
    const serverError = kinds.get('HTTPError 500 on editReply');
    const rateLimit = kinds.get('RateLimitError on a follow-up');
    log.error({ err: serverError }, 'a');
    log.error({ err: new SinkError('wrapped', 'transient', 'rate_limit', { cause: rateLimit }) }, 'b');
    const first = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(first.err).toMatchObject({ type: 'HTTPError', status: 500, method: 'PATCH', route: `/webhooks/${APP_ID}/:token/messages/@original` });
    const second = JSON.parse(lines[1]!) as { err: { code: string; cause: Record<string, unknown> } };
    expect(second.err.code).toBe('DFS_SINK');
    expect(second.err.cause).toMatchObject({
      type: 'RateLimitError',
      method: 'POST',
      route: `/webhooks/${APP_ID}/:token`,
      retryAfter: 1500,
      global: false,
    });
  });

  it('GIVEN a sign-in or download link anywhere in a line (a note, a message) THEN its token is replaced', () => {
    const { log, lines } = capture();
    log.warn({ note: `sent ${SIGN_IN_LINK}`, err: new Error(`could not open ${DOWNLOAD_LINK}`) }, `about ${CALLBACK_URL}`);
    for (const secret of SECRETS) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('/login?token=[REDACTED]');
    expect(lines[0]).toContain(`/interactions/${INTERACTION_ID}/:token/callback`);
  });
});

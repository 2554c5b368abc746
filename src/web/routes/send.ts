/**
 * Sending a file from the member's computer (README, 'Sending from your own computer'):
 * `/send?token=…` (a `/send` link) signs in and hands the page its grant in the address's
 * fragment; `/send` is the send page; `POST /send/grant` is the dashboard's "Send a file" (a
 * grant for the channel where `/dashboard` was run); `/send/target` and `/send/status/<id>`
 * tell the page and the CLI where the upload goes and how its transfer is doing; `/files/…` is
 * tus (../../send/tus.ts). The grant (`Authorization: Bearer`) is checked here, and from a
 * browser the page's own Origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SendGrant } from '../../send/grant.js';
import { manifestChannelId } from '../../transfer/part-records.js';
import type { Session } from '../auth.js';
import { redirect, sendHtml, sendJson, wantsJson } from '../http.js';
import { messagePage, sendPage } from '../pages.js';
import { decodeId, formFromPage } from './answers.js';
import type { Route, RouteRequest, SendParts, WebContext } from './types.js';

const SEND_AGAIN = 'Run /send in Discord to get a new upload link.';

type GrantOf = (req: IncomingMessage, res: ServerResponse) => SendGrant | null;

export function sendRoutes(web: WebContext): Route[] {
  const send = web.send;
  if (!send) return [];
  const grantOf: GrantOf = (req, res) => bearerGrant(web, send, req, res);
  return [
    { method: ['GET', 'HEAD'], path: '/send', public: true, handle: (request) => openSendLink(web, send, request) },
    { method: 'POST', path: '/send/grant', handle: (request) => grantFromDashboard(web, send, request) },
    { method: 'GET', path: '/send/target', public: true, handle: ({ req, res }) => answerTarget(grantOf(req, res), res) },
    {
      method: 'GET',
      path: /^\/send\/status\/([^/]+)$/,
      public: true,
      handle: ({ req, res, params }) => answerStatus(web, grantOf(req, res), res, params[0]!),
    },
    tusRoute(web, send, grantOf),
  ];
}

/** The grant of a request from the page or the CLI; null after answering 401 / 403. */
function bearerGrant(web: WebContext, send: SendParts, req: IncomingMessage, res: ServerResponse): SendGrant | null {
  // A browser names the page a request comes from; only this page's may upload.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== web.origin) {
    sendJson(res, 403, { error: 'refused: not sent by this page' });
    return null;
  }
  const grant = send.grants.fromHeader(req.headers.authorization);
  if (!grant) {
    res.setHeader('Tus-Resumable', '1.0.0');
    sendJson(res, 401, { error: 'this upload link is not valid (used, expired or not made by this bot)', hint: SEND_AGAIN });
    return null;
  }
  return grant;
}

/** `GET /send`: the page itself, or with `?token=` a `/send` link: a session, and the page's grant. */
async function openSendLink(web: WebContext, send: SendParts, { req, res, url }: RouteRequest): Promise<void> {
  const token = url.searchParams.get('token');
  if (token === null) {
    sendHtml(res, 200, sendPage());
    return;
  }
  if (req.method === 'HEAD') {
    sendHtml(res, 200, '');
    return;
  }
  const result = await web.auth.signIn(token);
  if (result === 'unrecorded') {
    const why = 'The bot cannot record sign-ins right now (it cannot write to its disk), so this link was not used: try it again in a few minutes.';
    sendHtml(res, 503, messagePage('Upload link not usable right now', why), { 'Retry-After': '60' });
    return;
  }
  if (typeof result === 'string' || !result.send) {
    sendHtml(res, 401, messagePage('Upload link not valid', `This link was already used, has expired, or is not one the bot made. ${SEND_AGAIN}`));
    return;
  }
  web.log.info({ event: 'web_sign_in', user_id: result.actor.userId, send: true }, 'signed in to send a file');
  const grant = send.grants.sign(result.actor.userId, result.guildId, result.send);
  if ((req.headers.accept ?? '').includes('application/json')) {
    res.setHeader('Set-Cookie', web.cookie.set(result.id));
    sendJson(res, 200, { grant, files: `${web.publicUrl}/files/`, status: `${web.publicUrl}/send/status/` });
    return;
  }
  // The fragment never leaves the browser: the grant is in no request line and no log.
  redirect(res, `/send#grant=${grant}`, { 'Set-Cookie': web.cookie.set(result.id) });
}

/**
 * `POST /send/grant`, the dashboard's "Send a file": a grant for the channel where `/dashboard`
 * was run, for a member who may start transfers there (both settled when the link was made).
 */
async function grantFromDashboard(web: WebContext, send: SendParts, { req, res, session }: RouteRequest & { session: Session }): Promise<void> {
  if (!(await formFromPage(req, res, session, web.origin))) return;
  if (!session.send || !session.actor.mayStart) {
    const why = 'This sign-in cannot send a file: run /dashboard in a channel where you may post files, or /send.';
    if (wantsJson(req)) sendJson(res, 403, { error: why });
    else sendHtml(res, 403, messagePage('Sending not allowed here', why));
    return;
  }
  const grant = send.grants.sign(session.actor.userId, session.guildId, session.send);
  web.log.info({ event: 'web_send_grant', user_id: session.actor.userId }, 'send page opened from the dashboard');
  if (wantsJson(req)) sendJson(res, 200, { grant, page: '/send' });
  else redirect(res, `/send#grant=${grant}`);
}

/** `GET /send/target`: where the grant's upload goes and how it is cut, for the page to show. */
function answerTarget(grant: SendGrant | null, res: ServerResponse): void {
  if (!grant) return;
  const { channelId, chunkSize, recipients } = grant.target;
  sendJson(res, 200, {
    channel_id: channelId,
    chunk_size: chunkSize,
    encrypted: recipients.length > 0,
    expires_at: new Date(grant.expiresAt).toISOString(),
  });
}

/** `GET /send/status/<id>`: how an upload's transfer is doing, for its owner only. */
function answerStatus(web: WebContext, grant: SendGrant | null, res: ServerResponse, segment: string): void {
  if (!grant) return;
  const id = decodeId(segment);
  const t = id === null ? undefined : web.store.get(id);
  if (!t || t.owner_id !== grant.userId || t.source.kind !== 'send') {
    sendJson(res, 404, { error: 'no such upload' });
    return;
  }
  sendJson(res, 200, {
    id: t.id,
    status: t.status,
    file_name: t.file_name,
    parts_done: t.completed_chunks.length,
    total_parts: t.total_chunks,
    bytes_posted: t.bytes_done,
    waiting_for_sender: web.transfers.waiting(t.id),
    file_sha256: t.file_sha256,
    encrypted: t.encryption !== null,
    note: t.notes.at(-1) ?? null,
    // What `join --channel … --message …` needs to rebuild it: where the manifest is.
    channel_id: manifestChannelId(t),
    manifest_message_id: t.manifest_message_id,
  });
}

/** `/files/…`: tus, for the member the grant names; another member's upload is as one that does not exist. */
function tusRoute(web: WebContext, send: SendParts, grantOf: GrantOf): Route {
  const { store } = web;
  return {
    method: ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
    path: /^\/files(?:\/([^/]*))?\/?$/,
    public: true,
    handle: async ({ req, res, params }) => {
      if (req.method === 'OPTIONS') return send.tus.options(req, res);
      const grant = grantOf(req, res);
      if (!grant) return;
      const id = params[0] ? decodeId(params[0]) : null;
      if (params[0] && id !== null) {
        // Another member's upload is no different from one that does not exist.
        const t = store.get(id);
        if (!t || t.owner_id !== grant.userId || t.source.kind !== 'send') {
          res.setHeader('Tus-Resumable', '1.0.0');
          sendJson(res, 404, { error: 'no such upload' });
          return;
        }
      }
      await send.tus.handle(req, res, grant);
    },
  };
}

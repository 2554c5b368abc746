/**
 * Sending a file from the member's computer (README, 'Sending from your own computer'):
 * `/send?token=…` (a `/send` link) signs in and hands the page its grant in the address's
 * fragment; `/send` is the send page; `/send/status/<id>` tells the page and the CLI how the
 * upload's transfer is doing; `/files/…` is tus (../../send/tus.ts). The grant
 * (`Authorization: Bearer`) is checked here, and from a browser the page's own Origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SendGrant } from '../../send/grant.js';
import { redirect, sendHtml, sendJson } from '../http.js';
import { messagePage, sendPage } from '../pages.js';
import { decodeId } from './answers.js';
import type { Route, SendParts, WebContext } from './types.js';

const SEND_AGAIN = 'Run /send in Discord to get a new upload link.';

export function sendRoutes(web: WebContext): Route[] {
  const send = web.send;
  if (!send) return [];
  const { auth, cookie, log, store, transfers } = web;
  /** The grant of a request from the page or the CLI; null after answering 401 / 403. */
  const grantOf = (req: IncomingMessage, res: ServerResponse): SendGrant | null => {
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
  };
  return [
    {
      method: ['GET', 'HEAD'],
      path: '/send',
      public: true,
      handle: async ({ req, res, url }) => {
        const token = url.searchParams.get('token');
        if (token === null) {
          sendHtml(res, 200, sendPage());
          return;
        }
        if (req.method === 'HEAD') {
          sendHtml(res, 200, '');
          return;
        }
        const result = await auth.signIn(token);
        if (result === 'unrecorded') {
          const why =
            'The bot cannot record sign-ins right now (it cannot write to its disk), so this link was not used: try it again in a few minutes.';
          sendHtml(res, 503, messagePage('Upload link not usable right now', why), { 'Retry-After': '60' });
          return;
        }
        if (typeof result === 'string' || !result.send) {
          sendHtml(
            res,
            401,
            messagePage('Upload link not valid', `This link was already used, has expired, or is not one the bot made. ${SEND_AGAIN}`),
          );
          return;
        }
        log.info({ event: 'web_sign_in', user_id: result.actor.userId, send: true }, 'signed in to send a file');
        const grant = send.grants.sign(result.actor.userId, result.guildId, result.send);
        // The fragment never leaves the browser: the grant is in no request line and no log.
        if ((req.headers.accept ?? '').includes('application/json')) {
          res.setHeader('Set-Cookie', cookie.set(result.id));
          sendJson(res, 200, { grant, files: `${web.publicUrl}/files/`, status: `${web.publicUrl}/send/status/` });
          return;
        }
        redirect(res, `/send#grant=${grant}`, { 'Set-Cookie': cookie.set(result.id) });
      },
    },
    {
      method: 'GET',
      path: /^\/send\/status\/([^/]+)$/,
      public: true,
      handle: ({ req, res, params }) => {
        const grant = grantOf(req, res);
        if (!grant) return;
        const id = decodeId(params[0]!);
        const t = id === null ? undefined : store.get(id);
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
          waiting_for_sender: transfers.isRunning(t.id) && send.uploads.isWaiting(t.id),
          file_sha256: t.file_sha256,
          encrypted: t.encryption !== null,
          note: t.notes.at(-1) ?? null,
          // What `join --channel … --message …` needs to rebuild it.
          channel_id: t.channel_id,
          manifest_message_id: t.manifest_message_id,
        });
      },
    },
    tusRoute(web, send, grantOf),
  ];
}

/** `/files/…`: tus, for the member the grant names; another member's upload is as one that does not exist. */
function tusRoute(web: WebContext, send: SendParts, grantOf: (req: IncomingMessage, res: ServerResponse) => SendGrant | null): Route {
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

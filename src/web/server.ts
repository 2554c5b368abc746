/**
 * The web page (README, 'The web page'): one HTTP server in the bot process, off unless WEB_PORT is
 * set. Node's own `http` is enough for these few routes. Every route but sign-in and the
 * static files needs a session; a transfer the member may not see is a 404, as an unknown id.
 * Cancel and Resume apply the rules `/cancel` and `/resume` apply (src/transfer/control.ts)
 * and call the same runner.
 */
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { closeServer, listen } from '../net/listen.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import { cancelRefusal, resumeRefusal, shareRefusal } from '../transfer/control.js';
import type { TransferRunner } from '../transfer/runner.js';
import { WebAuth, type Session } from './auth.js';
import { sessionCookie } from './cookie.js';
import { readForm, redirect, send, sendHtml, sendJson, wantsJson } from './http.js';
import { detailPage, listPage, messagePage } from './pages.js';
import { ThroughputSamples } from './samples.js';
import type { Downloads } from './download.js';
import { EventStreams } from './events.js';
import { canSee, transferDetail, transferView, visibleSummaries } from './view.js';

export interface WebServerOptions {
  /** Download links: `/d/<token>/<name>` (download.ts), and the dashboard's "download link" button. */
  downloads: Downloads;
  shareLink: (transfer: StoredTransfer, hours: number) => { url: string; expiresAt: number };
  /** SHARE_MAX_HOURS: the button's link lasts as long as /share's default, never longer than this. */
  shareMaxHours: number;
  host: string;
  port: number;
  /** WEB_PUBLIC_URL: the page's own origin (POSTs from any other are refused) and whether cookies are Secure. */
  publicUrl: string;
  auth: WebAuth;
  store: ProgressStore;
  transfers: TransferRunner;
  log: Logger;
}

export interface WebServer {
  port: number;
  close(): Promise<void>;
}

const STATIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
const STATIC_FILES: Readonly<Record<string, string>> = {
  '/static/dashboard.js': 'text/javascript; charset=utf-8',
  '/static/dashboard.css': 'text/css; charset=utf-8',
};

/** A download link asked for on the page lasts as long as /share's default (within SHARE_MAX_HOURS). */
const SHARE_HOURS = 24;

type Action = 'cancel' | 'resume' | 'share';

const SIGN_IN_AGAIN = 'Run /dashboard in Discord to get a new sign-in link.';

/** A path segment as an id; null for a malformed escape (`%ZZ`), which names nothing. */
function decodeId(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * Whether a POST came from a page of `origin`. A plain form post (no script) from a page sent
 * with `Referrer-Policy: no-referrer` carries `Origin: null`; the browser's own
 * `Sec-Fetch-Site: same-origin`, which no page can set, then says where it came from.
 */
function fromOwnOrigin(req: IncomingMessage, origin: string): boolean {
  if (req.headers.origin === origin) return true;
  return req.headers.origin === 'null' && req.headers['sec-fetch-site'] === 'same-origin';
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { auth, store, transfers, log } = options;
  const origin = new URL(options.publicUrl).origin;
  const cookie = sessionCookie(options.publicUrl);
  const sessionOf = (cookieHeader: string | undefined) => auth.session(cookieHeader, cookie.name);
  const samples = new ThroughputSamples(store, () => transfers.runningIds());
  const events = new EventStreams(sessionOf);
  const assets = new Map<string, Buffer>();
  for (const [route] of Object.entries(STATIC_FILES)) assets.set(route, await readFile(STATIC_DIR + route.slice('/static/'.length)));

  const live = transfers;
  const view = (id: string, session: Session) => {
    const t = store.get(id);
    return t && canSee(session, t) ? t : undefined;
  };
  const listOf = (session: Session) =>
    visibleSummaries(store.summaries(), session).flatMap((s) => {
      const t = store.get(s.id);
      return t ? [transferView(t, session.actor, live)] : [];
    });
  const detailOf = (id: string, session: Session) => {
    const t = view(id, session);
    return t ? transferDetail(t, session.actor, live, samples.of(id)) : null;
  };

  const notSignedIn = (req: IncomingMessage, res: ServerResponse) => {
    // Arriving from Discord's sign-in link, the redirect to here counts as cross-site, and a
    // SameSite=Strict cookie is not sent with it: one reload from this page sends it.
    if (req.headers['sec-fetch-site'] === 'cross-site' && req.headers['sec-fetch-mode'] === 'navigate') {
      sendHtml(res, 200, '<!doctype html><meta http-equiv="refresh" content="0"><title>Signing in…</title><p>Signing in…</p>');
      return;
    }
    if (wantsJson(req) || req.headers.accept === 'text/event-stream') sendJson(res, 401, { error: 'not signed in', hint: SIGN_IN_AGAIN });
    else sendHtml(res, 401, messagePage('Not signed in', `This page needs a sign-in link. ${SIGN_IN_AGAIN}`));
  };
  const notFound = (res: ServerResponse) => sendHtml(res, 404, messagePage('Not found', 'There is no such page or transfer here.'));

  /** A form posted by this page (Origin and CSRF token); null, answered 403, for anything else. */
  async function formFromPage(req: IncomingMessage, res: ServerResponse, session: Session): Promise<URLSearchParams | null> {
    const form = await readForm(req);
    // A page of another site can post a form here, but it can neither send our Origin nor know the token.
    if (fromOwnOrigin(req, origin) && form && WebAuth.csrfMatches(session, form.get('csrf') ?? undefined)) return form;
    if (wantsJson(req)) sendJson(res, 403, { error: 'refused: not sent by this page' });
    else sendHtml(res, 403, messagePage('Refused', 'This request did not come from the dashboard page. Reload the page and try again.'));
    return null;
  }

  /** Cancel, Resume, or a download link, on the same rules as the slash commands. */
  async function act(req: IncomingMessage, res: ServerResponse, session: Session, id: string, action: Action): Promise<void> {
    const form = await formFromPage(req, res, session);
    if (!form) return;
    const transfer = view(id, session);
    if (!transfer) {
      notFound(res);
      return;
    }
    const actor = session.actor;
    const refusal =
      action === 'cancel'
        ? cancelRefusal(actor, transfer)
        : action === 'resume'
          ? resumeRefusal(actor, transfer, transfers.isRunning(id))
          : shareRefusal(actor, transfer);
    let message: string;
    let url: string | undefined;
    if (refusal) message = refusal;
    else if (action === 'cancel') {
      const result = await transfers.cancel(id, { deletePosted: form.get('delete_posted') === 'true' });
      log.info({ event: 'web_cancel', transfer_id: id, user_id: actor.userId }, 'cancelled from the web page');
      message = `Transfer ${id} cancelled after ${result.transfer.completed_chunks.length}/${result.transfer.total_chunks ?? '?'} parts.`;
    } else if (action === 'resume') {
      transfers.start(id);
      log.info({ event: 'web_resume', transfer_id: id, user_id: actor.userId }, 'resumed from the web page');
      message = `Resuming ${id}.`;
    } else {
      const hours = Math.min(SHARE_HOURS, options.shareMaxHours);
      const link = options.shareLink(transfer, hours);
      log.info({ event: 'web_share', transfer_id: id, user_id: actor.userId, hours }, 'download link made on the web page');
      url = link.url;
      message = `Download link, valid ${hours} h (until ${new Date(link.expiresAt).toISOString()}):`;
    }
    if (wantsJson(req)) sendJson(res, refusal ? 409 : 200, { ok: !refusal, message, ...(url ? { url } : {}) });
    // Without the script a refusal is the transfer's page saying why: a redirect would lose it.
    else if (refusal) sendHtml(res, 409, detailPage(detailOf(id, session)!, session, refusal));
    else if (url) sendHtml(res, 200, messagePage('Download link', `${message} ${url}`));
    else redirect(res, `/transfers/${encodeURIComponent(id)}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const asset = assets.get(path);
    if (asset && (method === 'GET' || method === 'HEAD')) {
      send(res, 200, STATIC_FILES[path]!, asset);
      return;
    }
    const download = /^\/d\/([^/]+)(?:\/[^/]*)?$/.exec(path);
    if (download && (method === 'GET' || method === 'HEAD')) {
      await options.downloads.serve(req, res, download[1]!);
      return;
    }
    if (path === '/login' && method === 'GET') {
      const result = await auth.signIn(url.searchParams.get('token') ?? '');
      if (result === 'unrecorded') {
        const why =
          'The bot cannot record sign-ins right now (it cannot write to its disk), so this link was not used: try it again in a few minutes.';
        sendHtml(res, 503, messagePage('Sign-in not possible right now', why), { 'Retry-After': '60' });
        return;
      }
      if (typeof result === 'string') {
        const why = `This link was already used, has expired, or is not one the bot made. ${SIGN_IN_AGAIN}`;
        sendHtml(res, 401, messagePage('Sign-in link not valid', why));
        return;
      }
      log.info({ event: 'web_sign_in', user_id: result.actor.userId }, 'signed in to the web page');
      redirect(res, '/', { 'Set-Cookie': cookie.set(result.id) });
      return;
    }
    const session = sessionOf(req.headers.cookie);
    if (!session) {
      notSignedIn(req, res);
      return;
    }
    if (path === '/signout' && method === 'POST') {
      if (!(await formFromPage(req, res, session))) return;
      auth.signOut(session);
      log.info({ event: 'web_sign_out', user_id: session.actor.userId }, 'signed out of the web page');
      sendHtml(res, 200, messagePage('Signed out', `This browser is signed out. ${SIGN_IN_AGAIN}`), { 'Set-Cookie': cookie.clear() });
      return;
    }
    if (path === '/session' && method === 'GET') {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (path === '/' && method === 'GET') {
      sendHtml(res, 200, listPage(listOf(session), session));
      return;
    }
    if (path === '/events' && method === 'GET') {
      events.open(req, res, session.actor.userId, () => ({ transfers: listOf(session) }));
      return;
    }
    const match = /^\/transfers\/([^/]+)(\/events|\/cancel|\/resume|\/share)?$/.exec(path);
    if (!match) {
      notFound(res);
      return;
    }
    const id = decodeId(match[1]!);
    if (id === null) {
      notFound(res);
      return;
    }
    // An action is judged on where it came from before anything about the transfer is told.
    if ((match[2] === '/cancel' || match[2] === '/resume' || match[2] === '/share') && method === 'POST') {
      await act(req, res, session, id, match[2].slice(1) as Action);
      return;
    }
    if (!view(id, session)) {
      notFound(res);
      return;
    }
    if (match[2] === undefined && method === 'GET') {
      sendHtml(res, 200, detailPage(detailOf(id, session)!, session));
      return;
    }
    if (match[2] === '/events' && method === 'GET') {
      events.open(req, res, session.actor.userId, () => detailOf(id, session));
      return;
    }
    notFound(res);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The URL is not logged: a sign-in link carries its token in the query.
      log.error({ err: error, method: req.method }, 'web request failed');
      if (!res.headersSent) sendHtml(res, 500, messagePage('Something went wrong', 'The bot could not answer this; its log says why.'));
      else res.destroy();
    });
  });
  const port = await listen(server, options.port, options.host);
  return {
    port,
    close: () => {
      samples.close();
      events.close();
      return closeServer(server);
    },
  };
}

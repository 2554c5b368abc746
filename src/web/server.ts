/**
 * The web page (README, 'The web page'): one HTTP server in the bot process, off unless WEB_PORT is
 * set. Node's own `http` is enough for these few routes, kept as a table (routes/): each group
 * of routes is a file there, and the dispatcher below is the one place that picks a route,
 * sets the security headers, asks for a session, answers what no route serves, and catches
 * what a handler throws. Every route but sign-in, download links and the static files needs a
 * session; a transfer the member may not see is a 404, as an unknown id.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { errnoCode } from '../errors.js';
import type { Logger } from '../log.js';
import { closeServer, listen } from '../net/listen.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { TransferRunner } from '../transfer/runner.js';
import type { Session, WebAuth } from './auth.js';
import { sessionCookie } from './cookie.js';
import type { Downloads } from './download.js';
import { EventStreams } from './events.js';
import { SECURITY_HEADERS, sendHtml } from './http.js';
import { messagePage } from './pages.js';
import { actionRoutes } from './routes/actions.js';
import { notFound, notSignedIn } from './routes/answers.js';
import { assetRoutes } from './routes/assets.js';
import { downloadRoutes } from './routes/download.js';
import { eventRoutes } from './routes/events.js';
import { loginRoutes } from './routes/login.js';
import { pageRoutes } from './routes/pages.js';
import { sendRoutes } from './routes/send.js';
import type { Route, SendParts, WebContext } from './routes/types.js';
import { ThroughputSamples } from './samples.js';
import { canSee, transferDetail, transferView, visibleSummaries } from './view.js';

export interface WebServerOptions {
  /** Download links: `/d/<token>/<name>` (download.ts), and the dashboard's "download link" button. */
  downloads: Downloads;
  shareLink: (transfer: StoredTransfer, hours: number) => { url: string; expiresAt: number };
  /** SHARE_MAX_HOURS: the button's link lasts as long as /share's default, never longer than this. */
  shareMaxHours: number;
  /** Sending from a member's computer: null when the bot takes no uploads. */
  send: SendParts | null;
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

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { store, transfers, log } = options;
  const samples = new ThroughputSamples(store, () => transfers.runningIds());
  const web = webContext(options, samples);
  const routes: Route[] = [
    ...(await assetRoutes()),
    ...downloadRoutes(web),
    ...loginRoutes(web),
    ...pageRoutes(web),
    ...actionRoutes(web),
    ...eventRoutes(web),
    ...sendRoutes(web),
  ];
  const server = http.createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    dispatch(routes, web, req, res).catch((error: unknown) => {
      // A client that hung up mid-request (a form half sent) is not the bot failing.
      if (errnoCode(error) === 'ECONNRESET' && req.destroyed) {
        log.debug({ event: 'web_client_gone', method: req.method }, 'a web client went away mid-request');
        return;
      }
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
      web.events.close();
      return closeServer(server);
    },
  };
}

function webContext(options: WebServerOptions, samples: ThroughputSamples): WebContext {
  const { auth, store, transfers } = options;
  const cookie = sessionCookie(options.publicUrl);
  const visible = (id: string, session: Session) => {
    const t = store.get(id);
    return t && canSee(session, t) ? t : undefined;
  };
  return {
    ...options,
    cookie,
    origin: new URL(options.publicUrl).origin,
    events: new EventStreams((cookieHeader) => auth.session(cookieHeader, cookie.name)),
    visible,
    listOf: (session) =>
      visibleSummaries(store.summaries(), session).flatMap((s) => {
        const t = store.get(s.id);
        return t ? [transferView(t, session.actor, transfers)] : [];
      }),
    detailOf: (id, session) => {
      const t = visible(id, session);
      return t ? transferDetail(t, session.actor, transfers, samples.of(id)) : null;
    },
  };
}

/** What the route's path captured, when it serves this method and path; else null. */
function matches(route: Route, method: string, path: string): string[] | null {
  const methods: readonly string[] = typeof route.method === 'string' ? [route.method] : route.method;
  if (!methods.includes(method)) return null;
  if (typeof route.path === 'string') return route.path === path ? [] : null;
  return route.path.exec(path)?.slice(1) ?? null;
}

/** The first route serving this method and path; a session first unless it is public. */
async function dispatch(routes: readonly Route[], web: WebContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = requestUrl(req.url ?? '/');
  if (!url) {
    sendHtml(res, 400, messagePage('Bad request', 'The address of this request is not a valid one.'));
    return;
  }
  const method = req.method ?? 'GET';
  const session = () => web.auth.session(req.headers.cookie, web.cookie.name);
  for (const route of routes) {
    const params = matches(route, method, url.pathname);
    if (!params) continue;
    if (route.public) return route.handle({ req, res, url, params });
    const live = session();
    if (live) return route.handle({ req, res, url, params, session: live });
    notSignedIn(req, res);
    return;
  }
  // Without a session nothing more is told, not even which paths exist. A path served under
  // other methods only is answered as an unknown one.
  if (session()) notFound(res);
  else notSignedIn(req, res);
}

/**
 * The request's target as a URL; null when it is not one (a client can send any bytes). A
 * target starting `//` is a path, not a host as `new URL(target, base)` would read it.
 */
function requestUrl(target: string): URL | null {
  const absolute = target.startsWith('/') ? `http://localhost${target}` : target;
  return URL.canParse(absolute) ? new URL(absolute) : null;
}

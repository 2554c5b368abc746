/**
 * The web server's routes as data: each group of routes is one file in this folder, a list of
 * `Route`s, and the server's dispatcher (../server.ts) is the only code that picks one. A new
 * group plugs in as one more file and one more line in the server's list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log.js';
import type { ProgressStore, StoredTransfer } from '../../store/types.js';
import type { TransferRunner } from '../../transfer/runner.js';
import type { Session, WebAuth } from '../auth.js';
import type { SessionCookie } from '../cookie.js';
import type { Downloads } from '../download.js';
import type { EventStreams } from '../events.js';
import type { TransferDetail, TransferView } from '../view.js';
import type { SendGrants } from '../../send/grant.js';
import type { TusEndpoint } from '../../send/tus.js';
import type { SendUploads } from '../../send/uploads.js';

/** Sending from a member's computer (routes/send.ts): present when the bot takes uploads. */
export interface SendParts {
  grants: SendGrants;
  tus: TusEndpoint;
  uploads: SendUploads;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** What the path pattern captured, as it stands in the path (still percent-encoded). */
  params: readonly string[];
}

interface RouteBase {
  method: Method | readonly Method[];
  /** The exact path, or a pattern the whole path must match. */
  path: string | RegExp;
}

/** A public route answers anyone; every other one is reached only with a live session (else 401). */
export type Route = RouteBase &
  (
    | { public: true; handle(request: RouteRequest): Promise<void> | void }
    | { public?: false; handle(request: RouteRequest & { session: Session }): Promise<void> | void }
  );

/** What the route groups share: the server's parts, and what a session may see of the transfers. */
export interface WebContext {
  auth: WebAuth;
  store: ProgressStore;
  transfers: TransferRunner;
  downloads: Downloads;
  events: EventStreams;
  log: Logger;
  cookie: SessionCookie;
  /** The page's own origin: POSTs from any other are refused. */
  origin: string;
  /** WEB_PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
  send: SendParts | null;
  shareLink: (transfer: StoredTransfer, hours: number) => { url: string; expiresAt: number };
  shareMaxHours: number;
  /** The transfer `id` if the session may see it (else, as for an unknown id, undefined). */
  visible(id: string, session: Session): StoredTransfer | undefined;
  listOf(session: Session): TransferView[];
  detailOf(id: string, session: Session): TransferDetail | null;
}

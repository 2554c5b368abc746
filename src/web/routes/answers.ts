/** The answers several route groups give alike: not found, not signed in, a form not from this page. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebAuth, type Session } from '../auth.js';
import { readForm, sendHtml, sendJson, wantsJson } from '../http.js';
import { messagePage } from '../pages.js';

export const SIGN_IN_AGAIN = 'Run /dashboard in Discord to get a new sign-in link.';

export function notFound(res: ServerResponse): void {
  sendHtml(res, 404, messagePage('Not found', 'There is no such page or transfer here.'));
}

export function notSignedIn(req: IncomingMessage, res: ServerResponse): void {
  // Arriving from Discord's sign-in link, the redirect to here counts as cross-site, and a
  // SameSite=Strict cookie is not sent with it: one reload from this page sends it.
  if (req.headers['sec-fetch-site'] === 'cross-site' && req.headers['sec-fetch-mode'] === 'navigate') {
    sendHtml(res, 200, '<!doctype html><meta http-equiv="refresh" content="0"><title>Signing in…</title><p>Signing in…</p>');
    return;
  }
  if (wantsJson(req) || req.headers.accept === 'text/event-stream') sendJson(res, 401, { error: 'not signed in', hint: SIGN_IN_AGAIN });
  else sendHtml(res, 401, messagePage('Not signed in', `This page needs a sign-in link. ${SIGN_IN_AGAIN}`));
}

/** A path segment as an id; null for a malformed escape (`%ZZ`), which names nothing. */
export function decodeId(segment: string): string | null {
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

/** A form posted by this page (Origin and CSRF token); null, answered 403, for anything else. */
export async function formFromPage(req: IncomingMessage, res: ServerResponse, session: Session, origin: string): Promise<URLSearchParams | null> {
  const form = await readForm(req);
  // A page of another site can post a form here, but it can neither send our Origin nor know the token.
  if (fromOwnOrigin(req, origin) && form && WebAuth.csrfMatches(session, form.get('csrf') ?? undefined)) return form;
  if (wantsJson(req)) sendJson(res, 403, { error: 'refused: not sent by this page' });
  else sendHtml(res, 403, messagePage('Refused', 'This request did not come from the dashboard page. Reload the page and try again.'));
  return null;
}

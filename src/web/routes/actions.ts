/**
 * The page's forms: Cancel, Resume and a download link for a transfer, on the rules `/cancel`,
 * `/resume` and `/share` apply (src/transfer/control.ts), through the same runner; and Sign out.
 * Each is judged on where it came from (Origin, CSRF token) before anything about the transfer is told.
 */
import { cancelRefusal, resumeRefusal, shareRefusal } from '../../transfer/control.js';
import type { StoredTransfer } from '../../store/types.js';
import type { Session } from '../auth.js';
import { redirect, sendHtml, sendJson, wantsJson } from '../http.js';
import { detailPage, messagePage } from '../pages.js';
import { decodeId, formFromPage, notFound, SIGN_IN_AGAIN } from './answers.js';
import type { Route, RouteRequest, WebContext } from './types.js';

/** A download link asked for on the page lasts as long as /share's default (within SHARE_MAX_HOURS). */
const SHARE_HOURS = 24;

type Action = 'cancel' | 'resume' | 'share';

/** What an action did: its message, and for a download link the link. */
interface Outcome {
  message: string;
  url?: string;
}

export function actionRoutes(web: WebContext): Route[] {
  return [
    { method: 'POST', path: /^\/transfers\/([^/]+)\/(cancel|resume|share)$/, handle: (request) => act(web, request) },
    {
      method: 'POST',
      path: '/signout',
      handle: async ({ req, res, session }) => {
        if (!(await formFromPage(req, res, session, web.origin))) return;
        web.auth.signOut(session);
        web.log.info({ event: 'web_sign_out', user_id: session.actor.userId }, 'signed out of the web page');
        sendHtml(res, 200, messagePage('Signed out', `This browser is signed out. ${SIGN_IN_AGAIN}`), { 'Set-Cookie': web.cookie.clear() });
      },
    },
  ];
}

async function act(web: WebContext, { req, res, params, session }: RouteRequest & { session: Session }): Promise<void> {
  const id = decodeId(params[0]!);
  if (id === null) {
    notFound(res);
    return;
  }
  const action = params[1] as Action;
  const form = await formFromPage(req, res, session, web.origin);
  if (!form) return;
  const transfer = web.visible(id, session);
  if (!transfer) {
    notFound(res);
    return;
  }
  const actor = session.actor;
  const refusal =
    action === 'cancel'
      ? cancelRefusal(actor, transfer)
      : action === 'resume'
        ? resumeRefusal(actor, transfer, web.transfers.isRunning(id))
        : shareRefusal(actor, transfer);
  if (refusal) {
    if (wantsJson(req)) sendJson(res, 409, { ok: false, message: refusal });
    // Without the script a refusal is the transfer's page saying why: a redirect would lose it.
    else sendHtml(res, 409, detailPage(web.detailOf(id, session)!, session, refusal));
    return;
  }
  const { message, url } = await perform(web, action, transfer, session, form);
  if (wantsJson(req)) sendJson(res, 200, { ok: true, message, ...(url ? { url } : {}) });
  else if (url) sendHtml(res, 200, messagePage('Download link', `${message} ${url}`));
  else redirect(res, `/transfers/${encodeURIComponent(id)}`);
}

/** Does what the rules allowed. */
async function perform(web: WebContext, action: Action, transfer: StoredTransfer, session: Session, form: URLSearchParams): Promise<Outcome> {
  const { transfers, log } = web;
  const id = transfer.id;
  const userId = session.actor.userId;
  if (action === 'cancel') {
    const result = await transfers.cancel(id, { deletePosted: form.get('delete_posted') === 'true' });
    log.info({ event: 'web_cancel', transfer_id: id, user_id: userId }, 'cancelled from the web page');
    return { message: `Transfer ${id} cancelled after ${result.transfer.completed_chunks.length}/${result.transfer.total_chunks ?? '?'} parts.` };
  }
  if (action === 'resume') {
    transfers.start(id);
    log.info({ event: 'web_resume', transfer_id: id, user_id: userId }, 'resumed from the web page');
    return { message: `Resuming ${id}.` };
  }
  const hours = Math.min(SHARE_HOURS, web.shareMaxHours);
  const link = web.shareLink(transfer, hours);
  log.info({ event: 'web_share', transfer_id: id, user_id: userId, hours }, 'download link made on the web page');
  return { message: `Download link, valid ${hours} h (until ${new Date(link.expiresAt).toISOString()}):`, url: link.url };
}

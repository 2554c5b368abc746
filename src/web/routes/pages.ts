/** The pages a session sees: the list of its transfers, one transfer, and `/session` (the script asks whether it still holds one); HEAD as GET. */
import { sendHtml, sendJson } from '../http.js';
import { detailPage, listPage } from '../pages.js';
import { decodeId, notFound } from './answers.js';
import type { Route, WebContext } from './types.js';

export function pageRoutes(web: WebContext): Route[] {
  return [
    { method: ['GET', 'HEAD'], path: '/', handle: ({ res, session }) => sendHtml(res, 200, listPage(web.listOf(session), session)) },
    { method: ['GET', 'HEAD'], path: '/session', handle: ({ res }) => sendJson(res, 200, { ok: true }) },
    {
      method: ['GET', 'HEAD'],
      path: /^\/transfers\/([^/]+)$/,
      handle: ({ res, params, session }) => {
        const id = decodeId(params[0]!);
        const detail = id === null ? null : web.detailOf(id, session);
        if (detail) sendHtml(res, 200, detailPage(detail, session));
        else notFound(res);
      },
    },
  ];
}

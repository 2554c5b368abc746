/** Live updates (Server-Sent Events, ../events.ts): of the list, and of one transfer the session may see. */
import { decodeId, notFound } from './answers.js';
import type { Route, WebContext } from './types.js';

export function eventRoutes(web: WebContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/events',
      handle: ({ req, res, session }) => web.events.open(req, res, session.actor.userId, () => ({ transfers: web.listOf(session) })),
    },
    {
      method: 'GET',
      path: /^\/transfers\/([^/]+)\/events$/,
      handle: ({ req, res, params, session }) => {
        const id = decodeId(params[0]!);
        if (id === null || !web.visible(id, session)) {
          notFound(res);
          return;
        }
        web.events.open(req, res, session.actor.userId, () => web.detailOf(id, session));
      },
    },
  ];
}

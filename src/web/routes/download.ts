/** Download links, `/d/<token>/<name>` (../download.ts): public, the signed token is the key; the name is for the browser only. */
import type { Route, WebContext } from './types.js';

export function downloadRoutes(web: WebContext): Route[] {
  return [
    {
      method: ['GET', 'HEAD'],
      path: /^\/d\/([^/]+)(?:\/[^/]*)?$/,
      public: true,
      handle: ({ req, res, params }) => web.downloads.serve(req, res, params[0]!),
    },
  ];
}

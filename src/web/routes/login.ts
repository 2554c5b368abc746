/** `/login?token=…`: a sign-in link from `/dashboard` opens a session, once (../auth.ts). */
import { redirect, sendHtml } from '../http.js';
import { messagePage } from '../pages.js';
import { SIGN_IN_AGAIN } from './answers.js';
import type { Route, WebContext } from './types.js';

export function loginRoutes(web: WebContext): Route[] {
  const { auth, cookie, log } = web;
  return [
    {
      method: 'GET',
      path: '/login',
      public: true,
      handle: async ({ res, url }) => {
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
      },
    },
  ];
}

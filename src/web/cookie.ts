/**
 * The session cookie's name and attributes. Where the browser treats the page as secure
 * (WEB_PUBLIC_URL on https, or on localhost / a loopback address, which Chromium and Firefox
 * count as secure even over http) it is `__Host-dfs_session`: the browser keeps a cookie of
 * that name only when it is Secure, host-only and for Path=/, so neither a sibling host nor a
 * cookie set for a longer path (sent first) can stand in for it. Elsewhere (plain http to a
 * LAN address) a Secure cookie would not be kept at all, so it is `dfs_session` without Secure.
 */
import { isIP } from 'node:net';
import { SESSION_COOKIE, SESSION_TTL_MS } from './auth.js';

const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

export interface SessionCookie {
  name: string;
  /** `Set-Cookie` for a new session. */
  set(id: string): string;
  /** `Set-Cookie` that makes the browser forget it. */
  clear(): string;
}

/** Whether browsers count an origin as secure for cookies: https, or loopback over http. */
function securePage(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  if (url.protocol === 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function sessionCookie(publicUrl: string): SessionCookie {
  const secure = securePage(publicUrl);
  const name = secure ? HOST_SESSION_COOKIE : SESSION_COOKIE;
  const attributes = (maxAge: number) => `HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  return {
    name,
    set: (id) => `${name}=${id}; ${attributes(SESSION_TTL_MS / 1000)}`,
    clear: () => `${name}=; ${attributes(0)}`,
  };
}

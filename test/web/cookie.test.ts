/** The session cookie's name and attributes for each kind of WEB_PUBLIC_URL. */
import { describe, expect, it } from 'vitest';
import { sessionCookie } from '../../src/web/cookie.js';

describe('the session cookie', () => {
  it('GIVEN https, localhost or a loopback address THEN __Host-dfs_session, Secure, Path=/ and no Domain', () => {
    for (const url of ['https://files.example.org', 'http://127.0.0.1:8080', 'http://localhost:8080', 'http://dfs.localhost', 'http://[::1]:8080']) {
      const cookie = sessionCookie(url);
      expect(cookie.name, url).toBe('__Host-dfs_session');
      expect(cookie.set('abc'), url).toBe('__Host-dfs_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure');
      expect(cookie.clear(), url).toBe('__Host-dfs_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure');
    }
  });

  it('GIVEN plain http to another address THEN dfs_session without Secure, which the browser would not keep there', () => {
    for (const url of ['http://192.168.1.20:8080', 'http://files.lan', 'http://128.0.0.1']) {
      const cookie = sessionCookie(url);
      expect(cookie.name, url).toBe('dfs_session');
      expect(cookie.set('abc'), url).toBe('dfs_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200');
    }
  });
});

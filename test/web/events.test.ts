/**
 * The live streams' limits, with small ones, on a server of their own on 127.0.0.1: per
 * member whatever their sessions, and, when all are taken, room made for a member holding
 * fewer by the biggest holder's oldest stream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventStreams } from '../../src/web/events.js';

describe('live streams', () => {
  let server: http.Server;
  let streams: EventStreams;
  let base: string;
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    streams = new EventStreams(() => true, { perMember: 3, total: 5 });
    // The member is named by a header here; the web server takes it from the session.
    server = http.createServer((req, res) => streams.open(req, res, String(req.headers['x-member']), () => ({ ok: true })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const c of controllers.splice(0)) c.abort();
    streams.close();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const open = (member: string) => {
    const c = new AbortController();
    controllers.push(c);
    return fetch(base, { headers: { 'x-member': member }, signal: c.signal });
  };
  /** Everything a stream sent until it ended (it must end: the test's own timeout bounds the wait). */
  const rest = (res: Response) => res.text();

  it('GIVEN a member at their cap THEN their next stream gets 429 while another member still gets one', async () => {
    const mine = [await open('a'), await open('a'), await open('a')];
    expect(mine.map((r) => r.status)).toEqual([200, 200, 200]);
    const extra = await open('a');
    expect(extra.status).toBe(429);
    expect(await extra.text()).toMatch(/too many live pages open \(3\)/);
    expect((await open('b')).status).toBe(200);
  });

  it('GIVEN every stream taken WHEN a member holding fewer opens one THEN the biggest holder gives up its oldest, which ends saying crowded', async () => {
    const a = [await open('a'), await open('a'), await open('a')];
    const b = [await open('b'), await open('b')];
    expect([...a, ...b].map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const c = await open('c');
    expect(c.status).toBe(200);
    expect(await rest(a[0]!)).toMatch(/^data: \{"ok":true\}\n\nevent: crowded\ndata: \{\}\n\n$/);
    // Now 2, 2 and 1: nobody is two ahead of c, so c's second is refused, and so is a's third.
    const again = await open('c');
    expect(again.status).toBe(429);
    expect(await again.text()).toMatch(/as many live pages open as it serves/);
    expect((await open('a')).status).toBe(429);
    // A newcomer holds none: a holder of two makes room.
    expect((await open('d')).status).toBe(200);
  });
});

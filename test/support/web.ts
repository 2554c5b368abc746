/** Helpers for tests of the web page: a free port, `/dashboard`'s link, a session cookie, listening sockets. */
import { createHmac } from 'node:crypto';
import { readFile, readdir, readlink } from 'node:fs/promises';
import net from 'node:net';
import type { InteractionInput } from './fake-discord/types.js';
import type { BotFixture } from './bot-fixture.js';

/** A port nothing listens on right now (the bot takes it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** `/dashboard` as a member; resolves with the reply and the sign-in link in it (null when there is none). */
export async function dashboardLink(
  fx: BotFixture,
  input: Partial<InteractionInput> = {},
): Promise<{ content: string; link: string | null; ephemeral: boolean }> {
  const handle = await fx.command({ name: 'dashboard', ...input });
  await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  const content = handle.original()?.content ?? '';
  return { content, link: /(https?:\/\/\S+\/login\?token=[\w.-]+)/.exec(content)?.[1] ?? null, ephemeral: handle.ephemeral() };
}

/** Opens a sign-in link as a browser would (without following the redirect); the session cookie it set, if any. */
export async function signIn(link: string): Promise<{ status: number; cookie: string | null; setCookie: string | null; location: string | null }> {
  const res = await fetch(link, { redirect: 'manual' });
  await res.arrayBuffer();
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, setCookie, cookie: setCookie?.split(';')[0] ?? null, location: res.headers.get('location') };
}

/** A sign-in token with the bot's format, signed with `secret` (to make expired or foreign ones). */
export function craftToken(secret: string, claims: { u: string; g: string | null; s: boolean; o: boolean; e: number; n: string }): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`dfs-sign-in.${body}`).digest('base64url');
  return `${body}.${signature}`;
}

/** The TCP ports process `pid` listens on (Linux: its socket inodes matched in /proc/net/tcp and tcp6). */
export async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; the inode is column 10.
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

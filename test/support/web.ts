/** Helpers for tests of the web page: `/dashboard`'s link, signing in with it, and sign-in tokens made by hand. */
import { createHmac } from 'node:crypto';
import type { InteractionInput } from './fake-discord/types.js';
import type { BotFixture } from './bot-fixture.js';

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

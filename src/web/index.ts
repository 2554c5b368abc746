/**
 * The web page when WEB_PORT is set (SPEC section 10); nothing at all, no port opened, when it
 * is not. What the bot's commands need of it is `signInLink` (for `/dashboard`).
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressStore } from '../store/types.js';
import type { Actor } from '../transfer/control.js';
import type { TransferRunner } from '../transfer/runner.js';
import { WebAuth } from './auth.js';
import { startWebServer } from './server.js';

export interface WebPage {
  port: number;
  /** WEB_PUBLIC_URL, or where the page listens. */
  publicUrl: string;
  /** A personal, single-use sign-in link for `/dashboard`. */
  signInLink(actor: Actor, guildId: string | null): string;
  close(): Promise<void>;
}

type WebConfig = Pick<Config, 'WEB_PORT' | 'WEB_HOST' | 'WEB_PUBLIC_URL' | 'WEB_SECRET' | 'WEB_LINK_TTL_MINUTES'>;

export async function startWebPage(
  config: WebConfig,
  deps: { store: ProgressStore; transfers: TransferRunner; log: Logger },
): Promise<WebPage | null> {
  if (config.WEB_PORT === undefined) return null;
  const { log } = deps;
  let secret = config.WEB_SECRET;
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    log.warn({ event: 'web_secret_random' }, 'WEB_SECRET is not set: a random one is used, so sign-in links and sessions end when the bot restarts');
  }
  const auth = new WebAuth({ secret, linkTtlMinutes: config.WEB_LINK_TTL_MINUTES });
  const host = config.WEB_HOST;
  const listening = `http://${host.includes(':') ? `[${host}]` : host}:${config.WEB_PORT}`;
  const publicUrl = config.WEB_PUBLIC_URL ?? listening;
  let server;
  try {
    server = await startWebServer({ host, port: config.WEB_PORT, publicUrl, auth, ...deps });
  } catch (error) {
    throw new Error(`WEB_PORT ${config.WEB_PORT}: cannot listen on ${host} (${messageOf(error)})`, { cause: error });
  }
  log.info({ event: 'web_listening', host, port: server.port, public_url: publicUrl }, 'web_listening');
  return {
    port: server.port,
    publicUrl,
    signInLink: (actor, guildId) => `${publicUrl}/login?token=${auth.signInToken(actor, guildId)}`,
    close: () => server.close(),
  };
}

/**
 * The web page when WEB_PORT is set (README, 'The web page'); nothing at all, no port opened, when it
 * is not. What the bot's commands need of it is `signInLink` (for `/dashboard`).
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ListenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { Actor } from '../transfer/control.js';
import type { TransferRunner } from '../transfer/runner.js';
import { WebAuth } from './auth.js';
import { Downloads, downloadName, type PartFetcher } from './download.js';
import { startWebServer } from './server.js';
import { ShareLinks } from './share-links.js';
import { UsedLinks, usedLinksPathFor } from './used-links.js';
import { SendGrants, type SendTarget } from '../send/grant.js';
import { TusEndpoint } from '../send/tus.js';
import type { SendUploads } from '../send/uploads.js';

export interface WebPage {
  port: number;
  /** WEB_PUBLIC_URL, or where the page listens. */
  publicUrl: string;
  /** A personal, single-use sign-in link for `/dashboard`; with `send`, its page offers "Send a file" there. */
  signInLink(actor: Actor, guildId: string | null, send?: SendTarget): string;
  /** A personal, single-use upload link for `/send` (a sign-in link that carries the upload's target). */
  sendLink(actor: Actor, guildId: string | null, target: SendTarget): string;
  /** A download link for a complete transfer, valid `hours` (`/share`). */
  shareLink(transfer: StoredTransfer, hours: number): { url: string; expiresAt: number };
  /**
   * The link of a complete transfer's Download button: a download link valid AUTO_SHARE_HOURS (at
   * most SHARE_MAX_HOURS), no longer than `maxLength` (without the name in its path if need be); null
   * with AUTO_SHARE_HOURS=0, for a transfer not complete, or once its links were revoked (`/share
   * revoke:true` ends the button's link for good; `/share` makes new ones).
   */
  buttonLink(transfer: StoredTransfer, maxLength: number): string | null;
  close(): Promise<void>;
}

type WebConfig = Pick<
  Config,
  | 'PROGRESS_FILE_PATH'
  | 'WEB_PORT'
  | 'WEB_HOST'
  | 'WEB_PUBLIC_URL'
  | 'WEB_SECRET'
  | 'WEB_LINK_TTL_MINUTES'
  | 'WEB_MAX_DOWNLOADS'
  | 'SHARE_MAX_HOURS'
  | 'AUTO_SHARE_HOURS'
  | 'MAX_FILE_SIZE_BYTES'
  | 'MAX_ACTIVE_TRANSFERS'
>;

export interface WebPageDeps {
  store: ProgressStore;
  transfers: TransferRunner;
  log: Logger;
  /** Reads posted parts back from Discord for download links. */
  openFetcher: (signal: AbortSignal) => PartFetcher;
  /** The staging of uploads from members' computers; without it the page takes none. */
  uploads?: SendUploads | undefined;
}

export async function startWebPage(config: WebConfig, deps: WebPageDeps): Promise<WebPage | null> {
  if (config.WEB_PORT === undefined) return null;
  const { log } = deps;
  let secret = config.WEB_SECRET;
  let usedLinks: UsedLinks;
  const linkTtlMs = config.WEB_LINK_TTL_MINUTES * 60_000;
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    log.warn({ event: 'web_secret_random' }, 'WEB_SECRET is not set: a random one is used, so sign-in links and sessions end when the bot restarts');
    // A restart ends every link made with this secret: there is nothing to remember across one.
    usedLinks = UsedLinks.inMemory({ log });
  } else {
    usedLinks = await UsedLinks.open(usedLinksPathFor(config.PROGRESS_FILE_PATH), linkTtlMs, { log });
  }
  const host = config.WEB_HOST;
  const listening = `http://${host.includes(':') ? `[${host}]` : host}:${config.WEB_PORT}`;
  const publicUrl = config.WEB_PUBLIC_URL ?? listening;
  const auth = new WebAuth({ secret, linkTtlMinutes: config.WEB_LINK_TTL_MINUTES, usedLinks, page: publicUrl });
  const links = new ShareLinks(secret);
  const shareLink = (transfer: StoredTransfer, hours: number) => {
    const expiresAt = Date.now() + hours * 3_600_000;
    return { url: links.url(publicUrl, { t: transfer.id, g: transfer.share_generation, e: expiresAt }, downloadName(transfer)), expiresAt };
  };
  const buttonLink = (transfer: StoredTransfer, maxLength: number): string | null => {
    if (config.AUTO_SHARE_HOURS === 0 || transfer.status !== 'complete' || transfer.share_generation > 0) return null;
    const hours = Math.min(config.AUTO_SHARE_HOURS, config.SHARE_MAX_HOURS);
    const claims = { t: transfer.id, g: transfer.share_generation, e: Date.now() + hours * 3_600_000 };
    const named = links.url(publicUrl, claims, downloadName(transfer));
    if (named.length <= maxLength) return named;
    const bare = links.url(publicUrl, claims, null);
    return bare.length <= maxLength ? bare : null;
  };
  const { openFetcher, uploads, ...rest } = deps;
  const send = uploads
    ? {
        grants: new SendGrants(secret),
        uploads,
        tus: new TusEndpoint({
          store: deps.store,
          transfers: deps.transfers,
          uploads,
          log,
          maxFileSize: config.MAX_FILE_SIZE_BYTES,
          maxActive: config.MAX_ACTIVE_TRANSFERS,
          publicUrl,
        }),
      }
    : null;
  const downloads = new Downloads({ store: deps.store, links, log, openFetcher, maxDownloads: config.WEB_MAX_DOWNLOADS });
  let server;
  try {
    server = await startWebServer({
      host,
      port: config.WEB_PORT,
      publicUrl,
      auth,
      downloads,
      shareLink,
      shareMaxHours: config.SHARE_MAX_HOURS,
      send,
      ...rest,
    });
  } catch (error) {
    throw new ListenError('WEB_PORT', config.WEB_PORT, host, error);
  }
  log.info({ event: 'web_listening', host, port: server.port, public_url: publicUrl }, 'web_listening');
  return {
    port: server.port,
    publicUrl,
    signInLink: (actor, guildId, send) => `${publicUrl}/login?token=${auth.signInToken(actor, guildId, send)}`,
    sendLink: (actor, guildId, target) => `${publicUrl}/send?token=${auth.signInToken(actor, guildId, target)}`,
    shareLink,
    buttonLink,
    close: () => server.close(),
  };
}

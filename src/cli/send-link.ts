/**
 * `send`'s requests to the bot besides tus's own: the upload link redeemed for a grant
 * (`Accept: application/json`, src/web/routes/send.ts), an upload's offset (tus HEAD), and its
 * transfer's status. What a user sees names the bot's origin, never the link or the grant.
 */
import { z } from 'zod';
import { BotUnreachableError, CliFailure, messageOf, SendUploadError, UsageError } from '../errors.js';

export const NEW_LINK = 'run /send in Discord for a new link';

/** The upload link as given, or a UsageError saying what one looks like (without echoing it). */
export function parseLink(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('the upload link is not a URL: give the link /send answered with (…/send?token=…)');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !url.pathname.endsWith('/send') || !url.searchParams.get('token')) {
    throw new UsageError('that is not an upload link: /send answers with one that ends in /send?token=…');
  }
  return url;
}

const redeemed = z.object({ grant: z.string().min(1), files: z.url(), status: z.url() });
export type Redeemed = z.infer<typeof redeemed>;

/** GET the link as the CLI: the grant, and where tus and the status live. */
export async function redeemLink(link: URL, signal: AbortSignal): Promise<Redeemed> {
  const res = await request(link, { headers: { accept: 'application/json' }, redirect: 'manual', signal });
  if (res.status === 401) throw new CliFailure(`this upload link was already used, has expired, or was not made by this bot: ${NEW_LINK}`);
  if (res.status === 503) {
    throw new CliFailure('the bot cannot record sign-ins right now (its disk refuses writes), so the link was not used: try again in a few minutes');
  }
  const body = res.status === 200 ? await res.json().catch(() => null) : (await res.arrayBuffer(), null);
  const parsed = redeemed.safeParse(body);
  if (!parsed.success)
    throw new CliFailure(`${link.origin} answered the upload link with HTTP ${res.status}, not with an upload grant: is it the bot's link?`);
  return parsed.data;
}

const uploadStatus = z.object({
  status: z.string(),
  file_name: z.string(),
  parts_done: z.number(),
  total_parts: z.number(),
  bytes_posted: z.number(),
  waiting_for_sender: z.boolean(),
  file_sha256: z.string().nullable(),
  encrypted: z.boolean(),
  note: z.string().nullable(),
  channel_id: z.string().optional(),
  manifest_message_id: z.string().nullable().optional(),
});
export type UploadStatus = z.infer<typeof uploadStatus>;

/** The transfer of upload `id` as `/send/status/<id>` tells it. */
export async function statusOf(statusBase: string, id: string, grant: string, signal: AbortSignal): Promise<UploadStatus> {
  const url = new URL(encodeURIComponent(id), statusBase.endsWith('/') ? statusBase : `${statusBase}/`);
  const res = await request(url, { headers: { authorization: `Bearer ${grant}` }, signal });
  refuseGone(res.status);
  const parsed = uploadStatus.safeParse(res.ok ? await res.json().catch(() => null) : (await res.arrayBuffer(), null));
  if (!parsed.success) throw new CliFailure(`${url.origin} answered the upload's status with HTTP ${res.status}, not with a status`);
  return parsed.data;
}

/** How many bytes of the upload at `url` the bot has (tus HEAD); null when it was cancelled (410). */
export async function uploadOffset(url: string, grant: string, signal: AbortSignal): Promise<number | null> {
  const res = await request(new URL(url), { method: 'HEAD', headers: { authorization: `Bearer ${grant}`, 'tus-resumable': '1.0.0' }, signal });
  if (res.status === 410) return null;
  refuseGone(res.status);
  const offset = Number(res.headers.get('upload-offset'));
  if (!res.ok || !Number.isSafeInteger(offset)) throw new CliFailure(`${new URL(url).origin} answered a tus HEAD with HTTP ${res.status}, no offset`);
  return offset;
}

/** 401 and 404: this upload cannot go on with what the first run kept. */
export function refuseGone(status: number): void {
  if (status === 401) {
    throw new SendUploadError(`the bot no longer accepts this upload's grant (it lasts 12 hours, and WEB_SECRET must not change): ${NEW_LINK}`, 401);
  }
  if (status === 404) throw new SendUploadError(`the bot has no such upload (it is not yours, or its record is gone): ${NEW_LINK}`, 404);
}

/** A request whose failure to connect reads as one line naming the bot's origin. */
async function request(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (init.signal?.aborted) throw err;
    const cause = (err as { cause?: unknown }).cause;
    throw new BotUnreachableError(`cannot reach the bot at ${url.origin}: ${messageOf(cause ?? err)}`);
  }
}

/** Helpers for tests of sending from a member's computer: `/send`'s link, redeeming it, and a tus upload from Node. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as tus from 'tus-js-client';
import type { BotFixture } from './bot-fixture.js';
import { PERMISSIONS } from './bot-fixture.js';
import type { InteractionInput } from './fake-discord/types.js';

/** `/send` as a member; the reply and the upload link in it (null when there is none). */
export async function sendLink(
  fx: BotFixture,
  input: Partial<InteractionInput> = {},
): Promise<{ content: string; link: string | null; ephemeral: boolean }> {
  const handle = await fx.command({ name: 'send', permissions: PERMISSIONS.ADMINISTRATOR, ...input });
  await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  const content = handle.original()?.content ?? '';
  return { content, link: /(https?:\/\/\S+\/send\?token=[\w.-]+)/.exec(content)?.[1] ?? null, ephemeral: handle.ephemeral() };
}

/** Redeems an upload link as the CLI does; the grant and where tus lives. */
export async function redeem(link: string): Promise<{ status: number; grant: string | null; files: string | null; statusUrl: string | null }> {
  const res = await fetch(link, { headers: { accept: 'application/json' }, redirect: 'manual' });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { status: res.status, grant: null, files: null, statusUrl: null };
  }
  const body = (await res.json()) as { grant: string; files: string; status: string };
  return { status: res.status, grant: body.grant, files: body.files, statusUrl: body.status };
}

export interface TusResult {
  url: string | null;
  error: (Error & { originalResponse?: tus.HttpResponse | null }) | null;
}

/** Uploads `file` with tus-js-client; resolves when it succeeds or fails (never throws). */
export async function tusUpload(
  files: string,
  grant: string,
  file: string,
  options: { name?: string; uploadUrl?: string; onProgress?: (sent: number) => void; retryDelays?: number[]; chunkSize?: number } = {},
): Promise<TusResult & { upload: tus.Upload }> {
  const size = (await stat(file)).size;
  let upload!: tus.Upload;
  const done = new Promise<TusResult>((resolve) => {
    upload = new tus.Upload(createReadStream(file), {
      endpoint: files,
      uploadUrl: options.uploadUrl ?? null,
      uploadSize: size,
      headers: { Authorization: `Bearer ${grant}` },
      metadata: { filename: options.name ?? file.split('/').pop()! },
      retryDelays: options.retryDelays ?? [100, 500, 1000],
      chunkSize: options.chunkSize ?? Infinity,
      storeFingerprintForResuming: false,
      onProgress: (sent) => options.onProgress?.(sent),
      onSuccess: () => resolve({ url: upload.url, error: null }),
      onError: (error) => resolve({ url: upload.url, error }),
    });
    upload.start();
  });
  return { ...(await done), upload };
}

/**
 * `send <file> <upload link>` (README, 'The command line'): the link `/send` gave is redeemed
 * for a grant, the file goes to the bot by tus, and once the bot has posted every part the
 * manifest's sha256 is compared with the file's. Exit 0 only on a match (an encrypted
 * transfer, whose sha256 is of the age file, is checked as far as the CLI can: README).
 *
 * The link is single use, so the first run keeps what going on needs in a state file
 * (send-state.ts); run again with the same file and link after Ctrl-C, a kill or a lost
 * connection, it continues from the offset the bot reports instead of redeeming again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BotUnreachableError, CliFailure, SendUploadError, UsageError } from '../errors.js';
import type { CliIo } from './io.js';
import { ProgressBar } from './progress-bar.js';
import { NEW_LINK, parseLink, redeemLink, refuseGone, statusOf, uploadOffset, type UploadStatus } from './send-link.js';
import { fileChange, fileIdentity, readState, removeState, statePath, writeState, type FileIdentity, type SendState } from './send-state.js';
import { tusUpload } from './send-upload.js';
import { formatBytes } from './size.js';

export const SEND_USAGE = 'send <file> <upload link>';

const POLL_MS = 1_000; // how often the status is asked for while the bot posts
const AGAIN = 'run the same command again to continue';

/** One send as it runs: what the commands below share. */
interface Send {
  io: CliIo;
  file: FileIdentity;
  statePath: string;
  state: SendState;
}

export async function send(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 2) throw new UsageError(`send takes a file and an upload link: ${SEND_USAGE}`);
  const link = parseLink(positionals[1]!);
  const file = await fileIdentity(path.resolve(io.cwd, positionals[0]!));
  const where = statePath(io.env, link.href);
  const s: Send = { io, file, statePath: where, state: await begin(where, link, file, io) };
  // Hashed while it is sent (the page cache serves both reads): the sha256 the manifest must have.
  const hashing = sha256Of(file.path, io.signal);
  hashing.catch(() => undefined);
  const id = await sendBytes(s);
  const status = await waitForEnd(s, id);
  await removeState(where);
  return check(s, id, status, hashing);
}

/** The state an earlier run left for this link, the file checked against it; else the link redeemed and a new state saved. */
async function begin(where: string, link: URL, file: FileIdentity, io: CliIo): Promise<SendState> {
  const earlier = await readState(where);
  if (earlier) {
    const change = fileChange(earlier.file, file);
    if (change !== null) {
      throw new CliFailure(
        `${file.path} is not the file an earlier run with this link began to send (${earlier.file.path}): ${change}; ` +
          `nothing was sent. Send the unchanged file, or ${NEW_LINK} to send this one.`,
      );
    }
    return earlier;
  }
  const redeemed = await redeemLink(link, io.signal);
  const state: SendState = { version: 1, grant: redeemed.grant, files: redeemed.files, status: redeemed.status, upload_url: null, file };
  await writeState(where, state);
  return state;
}

/** The tus upload, from the offset the bot has; the transfer's id. */
async function sendBytes(s: Send): Promise<string> {
  const { io, file, state } = s;
  let from = 0;
  if (state.upload_url !== null) {
    const offset = await uploadOffset(state.upload_url, state.grant, io.signal).catch((err: unknown) => gone(s, err));
    if (offset === null) throw await cancelled(s, idOf(state.upload_url));
    from = offset;
    say(io, `continuing ${idOf(state.upload_url)} from byte ${offset} of ${file.size} (the bot has ${formatBytes(offset)})`);
  }
  const bar = new ProgressBar(io.stderr, 'send', file.size, { from });
  const stopPolling = pollParts(s, bar, () => state.upload_url);
  try {
    const url = await tusUpload({
      file: file.path,
      size: file.size,
      name: path.basename(file.path),
      grant: state.grant,
      files: state.files,
      uploadUrl: state.upload_url,
      signal: io.signal,
      onUrl: async (url) => {
        if (url === state.upload_url) return;
        state.upload_url = url;
        await writeState(s.statePath, state);
        say(io, `uploading ${path.basename(file.path)} (${file.size} bytes) as ${idOf(url)}`);
      },
      onProgress: (sent) => bar.update(sent),
    });
    return idOf(url);
  } catch (err) {
    throw await explain(s, err);
  } finally {
    stopPolling();
    bar.finish();
  }
}

/** Polls the transfer's status until it ends; says once what it waits for. */
async function waitForEnd(s: Send, id: string): Promise<UploadStatus> {
  const { io, state } = s;
  say(io, `the bot has every byte of ${id}; waiting for Discord to have every part`);
  let told = '';
  for (;;) {
    const status = await statusOf(state.status, id, state.grant, io.signal).catch((err: unknown) => {
      if (io.signal.aborted) throw interrupted();
      if (err instanceof BotUnreachableError) return err;
      return gone(s, err);
    });
    if (!(status instanceof BotUnreachableError) && ['complete', 'error', 'cancelled'].includes(status.status)) return status;
    const now =
      status instanceof BotUnreachableError
        ? `${status.message}; trying again`
        : status.status === 'interrupted' || status.status === 'pending'
          ? `${id} is ${status.status} (the bot restarted): it goes on by itself with AUTO_RESUME, else run /resume transfer:${id} in Discord`
          : `parts posted: ${status.parts_done}/${status.total_parts}`;
    if (now !== told && !now.startsWith('parts posted')) say(io, now);
    told = now;
    await sleepOrAbort(POLL_MS, io.signal);
  }
}

/** The command that rebuilds an encrypted send from Discord (the channel and manifest message when the bot gave them). */
function joinCommand(status: UploadStatus): string {
  const where =
    status.channel_id && status.manifest_message_id
      ? `--channel ${status.channel_id} --message ${status.manifest_message_id}`
      : '--channel … --message …';
  return `discord-file-splitter join ${where} --identity KEYFILE`;
}

/** The transfer's end compared with the file: 0 on a match, else a CliFailure saying why. */
async function check(s: Send, id: string, status: UploadStatus, hashing: Promise<string>): Promise<number> {
  const { io, file } = s;
  if (status.status === 'error') {
    throw new CliFailure(`${id} stopped with an error${noteOf(status)}. Run /resume transfer:${id} in Discord, then run this command again.`);
  }
  if (status.status === 'cancelled') throw new CliFailure(`${id} was cancelled${noteOf(status)}: ${NEW_LINK} to send it again`);
  const mine = await hashing.catch((err: unknown) => {
    if (io.signal.aborted) throw interrupted();
    throw err;
  });
  const what = `${status.file_name} (${file.size} bytes, ${formatBytes(file.size)}${status.encrypted ? ' before encryption' : ''}) as ${id}, ${status.total_parts} part(s)`;
  if (status.encrypted) {
    io.stdout.write(
      `sent ${what}, encrypted\n` +
        `sha256 ${mine} (this file's; the manifest's, ${status.file_sha256 ?? '?'}, is of the age file, which only the bot can compute, so it was not compared)\n` +
        `to check it, rebuild the file with \`${joinCommand(status)}\` and compare its sha256\n`,
    );
    return 0;
  }
  if (status.file_sha256 !== mine) {
    const change = fileChange(file, await fileIdentity(file.path).catch(() => ({ ...file, size: -1 })));
    throw new CliFailure(
      `the manifest's sha256 (${status.file_sha256 ?? 'none'}) is not the file's (${mine})` +
        (change ? `: the file changed while it was sent (${change})` : ': the bytes were damaged on the way'),
    );
  }
  io.stdout.write(`sent ${what}\nsha256 ${mine} matches the manifest\n`);
  return 0;
}

/** What a failed upload means for the user, asking the bot where its answer alone does not say. */
async function explain(s: Send, err: unknown): Promise<Error> {
  const { io, state } = s;
  if (io.signal.aborted) return interrupted();
  if (!(err instanceof SendUploadError)) return err as Error;
  const id = state.upload_url === null ? null : idOf(state.upload_url);
  if (err.status === 401 || err.status === 404) return gone(s, err);
  if (err.status === 410 && id !== null) return cancelled(s, id);
  if (id !== null && err.status !== 0) {
    const status = await statusOf(state.status, id, state.grant, io.signal).catch(() => null);
    if (status?.status === 'error') {
      return new CliFailure(`${id} stopped with an error${noteOf(status)}. Run /resume transfer:${id} in Discord, then run this command again.`);
    }
  }
  return new CliFailure(`${err.message}\n${AGAIN}`);
}

/** 401 / 404: nothing to go on with, so the state goes too; any error is thrown as the user should read it. */
async function gone(s: Send, err: unknown): Promise<never> {
  if (s.io.signal.aborted) throw interrupted();
  if (err instanceof SendUploadError && (err.status === 401 || err.status === 404)) {
    await removeState(s.statePath);
    refuseGone(err.status);
  }
  throw err;
}

async function cancelled(s: Send, id: string): Promise<CliFailure> {
  const status = await statusOf(s.state.status, id, s.state.grant, s.io.signal).catch(() => null);
  await removeState(s.statePath);
  return new CliFailure(`${id} was cancelled${status ? noteOf(status) : ''}: ${NEW_LINK} to send it again`);
}

/** While the bar shows, the parts Discord has, asked for every POLL_MS; returns how to stop. */
function pollParts(s: Send, bar: ProgressBar, url: () => string | null): () => void {
  if (!bar.enabled) return () => undefined;
  let asking = false;
  const timer = setInterval(() => {
    const at = url();
    if (asking || at === null) return;
    asking = true;
    statusOf(s.state.status, idOf(at), s.state.grant, s.io.signal)
      .then((status) => bar.note(`parts ${status.parts_done}/${status.total_parts}${status.waiting_for_sender ? '' : ' posting'}`))
      .catch(() => undefined) // the bar goes without; the upload says what went wrong
      .finally(() => (asking = false));
  }, POLL_MS);
  return () => clearInterval(timer);
}

const interrupted = () => new CliFailure(`interrupted: the bot keeps what it received; ${AGAIN}`);

const noteOf = (status: UploadStatus) => (status.note ? `: ${status.note}` : '');

/** The transfer id an upload address ends in. */
const idOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '');

function say(io: CliIo, line: string): void {
  io.stderr.write(`${line}\n`);
}

async function sha256Of(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sleepOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(interrupted());
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

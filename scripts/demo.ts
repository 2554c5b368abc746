/**
 * `npm run demo`: the whole job on one machine with no Discord token. Starts the built-in
 * fake Discord and the bot (as its own process), runs /split on a generated file, shows the
 * progress message as it changes (the parts go to a thread started from it: PARTS_IN=thread,
 * the default), then rebuilds the file from what the fake Discord received and checks its
 * sha256, and fetches it back through the progress message's Download button. Then a member
 * sends a file from "their own computer":
 * `/send`, the link redeemed, the file uploaded with tus and posted as it arrives.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeDiscord } from '../test/support/fake-discord/index.js';
import { startBotProcess } from '../test/support/bot-process.js';
import { writeSeededFile } from '../test/support/random-file.js';
import { rebuildFromFake, findManifestMessage } from '../test/support/rebuild.js';
import { freePort } from '../test/support/ports.js';
import { redeem, tusUpload } from '../test/support/send.js';

const FILE_SIZE = Number(process.env.DEMO_FILE_SIZE ?? 60 * 1024 * 1024); // bytes
const ADMINISTRATOR = 1n << 3n;

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-demo-'));
  const filesRoot = path.join(work, 'files');
  await fs.mkdir(filesRoot);
  const say = (text: string) => process.stdout.write(`${text}\n`);

  say(`1. Generating a ${(FILE_SIZE / 1048576).toFixed(0)} MiB file in ${filesRoot} …`);
  const sourceSha = await writeSeededFile(path.join(filesRoot, 'holiday video.mkv'), FILE_SIZE, 2026);
  say(`   sha256 ${sourceSha}`);

  const fake = await startFakeDiscord();
  const webPort = await freePort();
  say(`2. Fake Discord listening at ${fake.url} (REST ${fake.apiUrl}, gateway ${fake.gatewayUrl})`);
  const bot = await startBotProcess({
    cwd: work,
    env: {
      DISCORD_TOKEN: fake.token,
      DISCORD_API_URL: fake.apiUrl,
      FILES_ROOT: filesRoot,
      PROGRESS_FILE_PATH: path.join(work, 'transfer_progress.json'),
      PROGRESS_EDIT_INTERVAL_MS: '300',
      LOG_LEVEL: 'info',
      WEB_PORT: String(webPort),
    },
  });
  say('3. Bot connected (real discord.js client, gateway + REST).');
  try {
    say('4. A member types: /split path:"holiday video.mkv"');
    const reply = await fake.sendInteraction({
      name: 'split',
      options: [{ name: 'path', type: 3, value: 'holiday video.mkv' }],
      permissions: ADMINISTRATOR,
    });
    await reply.waitFor((h) => Boolean(h.original()?.content), 10_000);
    say(`   bot replied: ${reply.original()?.content ?? ''}`);
    const transferId = /`(upload_[a-z0-9]+)`/.exec(reply.original()?.content ?? '')?.[1];
    if (!transferId) throw new Error('the bot did not name a transfer id');

    say('5. Progress message in the channel (uploads slowed to 0.4 s each so you can watch):');
    fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'delay', ms: 400, times: 1_000 });
    const progressPath = path.join(work, 'transfer_progress.json');
    let last = '';
    const deadline = Date.now() + 120_000;
    while (!findManifestMessage(fake, transferId) && Date.now() < deadline) {
      const progressId = await readProgressMessageId(progressPath, transferId);
      const progress = fake.messages().find((m) => m.id === progressId);
      if (progress && progress.content !== last) {
        last = progress.content;
        say(progress.content.replace(/^/gm, '   │ '));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await bot.waitForLog((l) => l.msg === 'transfer_complete' || l.msg === 'transfer_error', 30_000);
    await new Promise((r) => setTimeout(r, 500)); // the final edit of the progress message
    const finalId = await readProgressMessageId(progressPath, transferId);
    const finalContent = fake.messages().find((m) => m.id === finalId)?.content ?? '';
    if (finalContent !== last) say(finalContent.replace(/^/gm, '   │ '));

    const rebuilt = rebuildFromFake(fake, transferId);
    const posted = fake.messages().filter((m) => m.content.includes(transferId) && m.attachments.length > 0);
    say(
      `6. Discord holds ${rebuilt.partAttachments.length} parts in ${posted.length - 1} messages, plus the manifest, ${whereParts(fake, transferId, rebuilt)}:`,
    );
    say(rebuilt.manifestMessage.content.replace(/^/gm, '   │ '));
    const progress = JSON.parse(await fs.readFile(path.join(work, 'transfer_progress.json'), 'utf8')) as {
      active_transfers: { id: string; status: string; completed_chunks: number[] }[];
    };
    const record = progress.active_transfers.find((t) => t.id === transferId);
    say(`7. transfer_progress.json: status ${record?.status}, ${record?.completed_chunks.length} parts recorded`);
    const ok = rebuilt.sha256 === sourceSha && rebuilt.manifest.file.sha256 === sourceSha && record?.status === 'complete';
    say(`8. Rebuilt from the posted parts: sha256 ${rebuilt.sha256} — ${ok ? 'MATCHES the source ✔' : 'DOES NOT MATCH ✘'}`);
    const clicked = await downloadButton(fake, finalId, sourceSha, say);
    const sent = await demoSend(fake, work, say);
    process.exitCode = ok && clicked && sent ? 0 : 1;
  } finally {
    await bot.kill('SIGTERM');
    await fake.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Where the parts are: the transfer's thread (the channel then holds only its progress message), or the channel. */
function whereParts(fake: Awaited<ReturnType<typeof startFakeDiscord>>, transferId: string, rebuilt: ReturnType<typeof rebuildFromFake>): string {
  const threadId = rebuilt.manifestMessage.channel_id;
  const thread = fake.threads().find((t) => t.id === threadId);
  if (!thread) return 'in the channel';
  const inChannel = fake.messages(thread.parentId).filter((m) => m.content.includes(transferId));
  const files = inChannel.filter((m) => m.attachments.length > 0).length;
  const channel =
    files === 0 ? `${inChannel.length} message(s) of it (the reply to /split, the progress message) and no file` : `${files} message(s) with files ✘`;
  return `in the thread "${thread.name}" (${thread.archived ? 'archived' : 'open'}); the channel holds ${channel}`;
}

/** Step 8b: one click back, the progress message's Download button (a link to the web page) gives the file. */
async function downloadButton(
  fake: Awaited<ReturnType<typeof startFakeDiscord>>,
  progressId: string | null,
  sha: string,
  say: (text: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  const button = () => {
    const rows = (fake.messages().find((m) => m.id === progressId)?.components ?? []) as { components?: { label?: string; url?: string }[] }[];
    return rows.flatMap((r) => r.components ?? []).find((c) => c.url);
  };
  while (!button() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const found = button();
  if (!found?.url) {
    say('   the progress message has no Download button ✘');
    return false;
  }
  const res = await fetch(found.url);
  const got = createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex');
  const ok = res.status === 200 && got === sha;
  say(
    `   Its "${found.label ?? 'Download'}" button (${found.url.replace(/\/d\/[^/]+/, '/d/…')}) gives the file back: ${ok ? 'MATCHES ✔' : 'DOES NOT MATCH ✘'}`,
  );
  return ok;
}

/** Steps 9–11: `/send`, the link redeemed as the CLI does, a file uploaded with tus, rebuilt and checked. */
async function demoSend(fake: Awaited<ReturnType<typeof startFakeDiscord>>, work: string, say: (text: string) => void): Promise<boolean> {
  const home = path.join(work, 'home');
  await fs.mkdir(home);
  const file = path.join(home, 'phone backup.zip');
  const sha = await writeSeededFile(file, 20 * 1024 * 1024, 7);
  say('9. Another member, with a 20 MiB file on their own computer, types: /send');
  const reply = await fake.sendInteraction({ name: 'send', options: [], permissions: ADMINISTRATOR });
  await reply.waitFor((h) => Boolean(h.original()?.content), 10_000);
  say(`   bot replied (only they see it): ${(reply.original()?.content ?? '').replace(/token=[\w.-]+/, 'token=…')}`);
  const link = /(https?:\/\/\S+\/send\?token=[\w.-]+)/.exec(reply.original()?.content ?? '')?.[1];
  if (!link) throw new Error('the bot gave no upload link');
  const { grant, files } = await redeem(link);
  if (!grant || !files) throw new Error('the upload link did not open');
  say(`10. Their browser (here: the tus client) uploads it to ${files}; the bot posts parts as they arrive`);
  const result = await tusUpload(files, grant, file);
  if (result.error || !result.url) throw new Error(`the upload failed: ${String(result.error)}`);
  const id = result.url.split('/').pop()!;
  const deadline = Date.now() + 60_000;
  while (!findManifestMessage(fake, id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const rebuilt = rebuildFromFake(fake, id);
  const ok = rebuilt.sha256 === sha;
  say(
    `11. ${id}: ${rebuilt.partAttachments.length} parts posted; rebuilt sha256 ${rebuilt.sha256} — ${ok ? "MATCHES the sender's file ✔" : 'DOES NOT MATCH ✘'}`,
  );
  return ok;
}

async function readProgressMessageId(progressPath: string, transferId: string): Promise<string | null> {
  try {
    const file = JSON.parse(await fs.readFile(progressPath, 'utf8')) as { active_transfers: { id: string; progress_message_id: string | null }[] };
    return file.active_transfers.find((t) => t.id === transferId)?.progress_message_id ?? null;
  } catch {
    return null; // between a rename and our read
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

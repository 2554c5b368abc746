/** Rebuilds a transferred file from what a fake Discord received, as a receiver would. */
import { createHash } from 'node:crypto';
import type { FakeDiscord, FakeMessage } from './fake-discord/types.js';
import { parseManifest, type Manifest } from '../../src/transfer/manifest.js';

export interface Rebuilt {
  manifest: Manifest;
  manifestMessage: FakeMessage;
  sha256: string;
  size: number;
  /** `cat <name>.part*`: every part's bytes, joined in name order (small files only: it is all in memory). */
  bytes(): Buffer;
  /** Every attachment whose name is a part of this file, across all live messages. */
  partAttachments: { messageId: string; name: string }[];
}

export function findManifestMessage(fake: FakeDiscord, transferId: string, channelId?: string): FakeMessage | undefined {
  return fake.messages(channelId).find((m) => m.content.includes(transferId) && m.attachments.some((a) => a.filename.endsWith('.manifest.json')));
}

/** Joins the parts in name order (as `cat name.part*` would) and checks them against the manifest. */
export function rebuildFromFake(fake: FakeDiscord, transferId: string, channelId?: string): Rebuilt {
  const manifestMessage = findManifestMessage(fake, transferId, channelId);
  if (!manifestMessage) throw new Error(`no manifest message for ${transferId}`);
  const manifestAttachment = manifestMessage.attachments.find((a) => a.filename.endsWith('.manifest.json'));
  if (!manifestAttachment) throw new Error('manifest message has no manifest attachment');
  const manifest = parseManifest(JSON.parse(fake.attachmentBytes(manifestAttachment.id).toString('utf8')));
  const prefix = `${manifestAttachment.filename.slice(0, -'.manifest.json'.length)}.part`;
  const parts = fake
    .messages(channelId)
    .filter((m) => m.content.includes(transferId))
    .flatMap((m) => m.attachments.filter((a) => a.filename.startsWith(prefix)).map((a) => ({ message: m, attachment: a })))
    .sort((a, b) => a.attachment.filename.localeCompare(b.attachment.filename));
  const whole = createHash('sha256');
  let size = 0;
  for (const { attachment } of parts) {
    const bytes = fake.attachmentBytes(attachment.id);
    whole.update(bytes);
    size += bytes.length;
  }
  return {
    manifest,
    manifestMessage,
    sha256: whole.digest('hex'),
    size,
    bytes: () => Buffer.concat(parts.map(({ attachment }) => fake.attachmentBytes(attachment.id))),
    partAttachments: parts.map((p) => ({ messageId: p.message.id, name: p.attachment.filename })),
  };
}

/** Every part attachment ever posted for a transfer, deleted messages included, by file name: duplicates show. */
export function postedPartNames(fake: FakeDiscord, transferId: string): string[] {
  return fake
    .allMessagesEver()
    .filter((m) => m.content.includes(transferId))
    .flatMap((m) => m.attachments.filter((a) => a.filename.includes('.part')).map((a) => a.filename));
}

/** Every manifest message ever posted for a transfer. */
export function postedManifests(fake: FakeDiscord, transferId: string): FakeMessage[] {
  return fake.allMessagesEver().filter((m) => m.content.includes(transferId) && m.attachments.some((a) => a.filename.endsWith('.manifest.json')));
}

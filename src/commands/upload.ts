import { type ChatInputCommandInteraction } from 'discord.js';
import { errnoCode, HttpStatusError, messageOf, UserError } from '../errors.js';
import { cutText, fitMessage } from '../discord/message-text.js';
import { urlInfo, type UrlInfo } from '../transfer/url/headers.js';
import { openUrl } from '../transfer/url/request.js';
import { displayUrl, parseUploadUrl } from '../transfer/url/policy.js';
import {
  channelOption,
  checkCanStart,
  chunkSizeOption,
  encryptionNote,
  newTransferInput,
  recipientOption,
  requestedChunkSize,
  requestedEncryption,
  sizeInParts,
  withTransferSlot,
} from './split.js';
import { urlNames } from '../log.js';
import { guildCommand, type BotContext, type Command } from './types.js';

/**
 * Discord wants an answer within 3 s: a URL slower than this to open gets a deferred reply,
 * public as /split's, so "Transfer started" is public whichever way it came; a refusal after
 * it is still told privately (the router replaces the placeholder with an ephemeral follow-up).
 */
const REPLY_DIRECTLY_WITHIN_MS = 2_000; // ms
/** Opening the URL (DNS, TLS, redirects, headers) before the transfer is recorded. */
const OPEN_TIMEOUT_MS = 30_000; // ms
/** The most of a URL a reply shows: a URL may be as long as a whole message. */
const SHOWN_URL_LIMIT = 300; // characters

/** The URL as replies show it: without its query string, and cut to SHOWN_URL_LIMIT. */
const shownUrl = (url: URL | string) => cutText(displayUrl(url), SHOWN_URL_LIMIT);

const data = guildCommand('upload', 'Fetch a file from an https URL and send it to a channel in verified parts')
  .addStringOption((o) => o.setName('url').setDescription('https:// address of the file').setRequired(true).setMaxLength(2000))
  .addIntegerOption(chunkSizeOption)
  .addChannelOption(channelOption)
  .addStringOption(recipientOption);

/**
 * Opens the URL as the transfer will (every hop checked) and reads only the headers, so a
 * refusal happens before anything is recorded.
 */
async function inspect(url: URL, ctx: BotContext): Promise<UrlInfo> {
  const signal = AbortSignal.timeout(OPEN_TIMEOUT_MS);
  let opened;
  try {
    opened = await openUrl(url, { allowedHosts: ctx.config.UPLOAD_ALLOWED_HOSTS, headersTimeoutMs: ctx.config.URL_HEADERS_TIMEOUT_MS, signal });
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (error instanceof HttpStatusError) throw new UserError(`Could not fetch ${shownUrl(error.url)}: it answered HTTP ${error.status}.`);
    const reason = signal.aborted ? `no answer within ${OPEN_TIMEOUT_MS / 1000} s` : (errnoCode(error) ?? messageOf(error));
    throw new UserError(`Could not open ${shownUrl(url)}: ${reason}.`, { cause: error });
  }
  // Headers are all we need now; the transfer downloads the body itself.
  opened.response.destroy();
  return urlInfo(opened.response, opened.url);
}

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const target = checkCanStart(interaction, ctx);
  const chunkSize = requestedChunkSize(interaction, ctx);
  const encryption = await requestedEncryption(interaction, ctx);
  const url = parseUploadUrl(interaction.options.getString('url', true));
  ctx.redactions.add(...urlNames(url.href));
  await withTransferSlot(interaction, ctx, async (slot) => {
    const opening = inspect(url, ctx);
    const settled = opening.then(
      () => true,
      () => true,
    );
    const quick = await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), REPLY_DIRECTLY_WITHIN_MS).unref())]);
    if (!quick) await interaction.deferReply();
    const info = await opening;
    const max = ctx.config.MAX_FILE_SIZE_BYTES;
    if (info.size === 0) throw new UserError(`${shownUrl(url)} is empty: there is nothing to send.`);
    if (info.size !== null && info.size > max) {
      throw new UserError(`${shownUrl(url)} is ${info.size} bytes, above this bot's limit of ${max} bytes (MAX_FILE_SIZE_BYTES).`);
    }
    // Recording waits for an fsync: acknowledge first (refusals above stayed private).
    if (!interaction.deferred) await interaction.deferReply();
    const transfer = await ctx.transfers.createUrlTransfer({
      ...newTransferInput(interaction, slot, target, chunkSize, encryption),
      url: url.href,
      info,
    });
    const content =
      `Transfer \`${transfer.id}\` started: **${transfer.file_name}** from ${shownUrl(url)}, ${sizeInParts(transfer.file_size, transfer.total_chunks, chunkSize)} ` +
      `to <#${transfer.channel_id}>. Follow it with \`/status transfer:${transfer.id}\`.${encryptionNote(encryption)}`;
    await interaction.editReply({ content: fitMessage(content) });
    ctx.transfers.start(transfer.id);
  });
}

export default { data, execute } satisfies Command;

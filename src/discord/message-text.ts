/**
 * Text that has to fit in a Discord message. Discord refuses content over 2,000 characters
 * outright, so an over-long reply is not shortened but lost: the user hears nothing.
 */

/** Discord's limit on a message's content. */
export const MESSAGE_CONTENT_LIMIT = 2_000; // characters
/** The most of a user's input a reply quotes back. */
const QUOTE_LIMIT = 100; // characters

/**
 * `text` cut to at most `max` UTF-16 units (Discord's count, or above it) with `…` at the cut,
 * never splitting a surrogate pair.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = '';
  for (const char of text) {
    if (kept.length + char.length > max - 1) break;
    kept += char;
  }
  return `${kept}…`;
}

/** A user's input quoted in a reply: in code, cut to QUOTE_LIMIT, its backticks made harmless. */
export function quoteInput(input: string): string {
  return `\`${cutText(input, QUOTE_LIMIT).replaceAll('`', 'ˋ')}\``;
}

/**
 * Content that fits in one message. Over the limit, long code spans (quoted input, also from
 * messages built elsewhere) are cut first, so the words around them survive; then the text is
 * cut, at a line break when one is near.
 */
export function fitMessage(content: string, limit = MESSAGE_CONTENT_LIMIT): string {
  if (content.length <= limit) return content;
  const shorter = content.replace(/`([^`\n]+)`/g, (span, inner: string) =>
    inner.length > QUOTE_LIMIT ? `\`${cutText(inner, QUOTE_LIMIT)}\`` : span,
  );
  if (shorter.length <= limit) return shorter;
  const cut = cutText(shorter, limit);
  const lineEnd = cut.lastIndexOf('\n');
  return lineEnd > limit / 2 ? `${cut.slice(0, lineEnd)}\n…` : cut;
}

/**
 * What of an error reaches the log. discord.js's REST errors carry the request they failed
 * on: its body (a reply, with a sign-in or download link in it) and its URL (an interaction's
 * or a webhook's token, which can answer as the bot for 15 minutes). They are logged by an
 * allow-list of what they mean: status, Discord's code, method and route with the token
 * replaced. Every other error keeps its fields, with the errors it wraps (`cause`,
 * AggregateError's `errors`, any field holding one) read the same way.
 */
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';

/** Deeper than this, a chain of causes is cut: a cycle or a pathological wrapper must not stall the logger. */
const MAX_DEPTH = 8;

/** Path segments and query values that are credentials, each with what replaces it. */
const TOKEN_PATTERNS: [RegExp, string][] = [
  // An interaction's token, in the callback route and in the webhook routes of its replies.
  [/(\/(?:interactions|webhooks)\/[^/\s"'?#\\]+\/)[^/\s"'?#\\]+/g, '$1:token'],
  // The bot's signed tokens (sign-in, upload and download links): base64url JSON, a dot, an HMAC-SHA256.
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, '[REDACTED]'],
  [/([?&]token=)[^&\s"'#\\]+/g, '$1[REDACTED]'],
];

/** `text` with every interaction or webhook token and every link token replaced. */
export function redactTokens(text: string): string {
  return TOKEN_PATTERNS.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text);
}

/** The path of a Discord API URL after its version (`/interactions/123/:token/callback`), tokens replaced, query dropped. */
function discordRoute(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    pathname = url.split('?')[0] ?? '';
  }
  return redactTokens(pathname.replace(/^.*?\/v\d+(?=\/)/, ''));
}

/** pino's `err` serializer. */
export function serializeError(value: unknown): unknown {
  return serialize(value, 0, new Set());
}

type Serialized = Record<string, unknown>;

function serialize(value: unknown, depth: number, seen: Set<object>): unknown {
  if (!isErrorLike(value)) return value;
  if (seen.has(value) || depth > MAX_DEPTH) return { type: typeOf(value), message: '[already logged above, or nested too deep]' };
  seen.add(value);
  const out: Serialized = { type: typeOf(value), message: redactTokens(value.message) };
  if (isRestError(value)) Object.assign(out, restFields(value));
  else copyFields(value, out, depth, seen);
  if (typeof value.stack === 'string') out['stack'] = redactTokens(value.stack);
  if (value.cause !== undefined) out['cause'] = safeValue(value.cause, depth, seen);
  const errors = (value as { errors?: unknown }).errors;
  if (Array.isArray(errors)) out['errors'] = errors.map((e) => serialize(e, depth + 1, seen));
  return out;
}

/** What a REST error means, and nothing of the request it failed on (no body, no URL, no `majorParameter`: a webhook's is its token). */
function restFields(error: Error): Serialized {
  const e = error as unknown as Partial<Record<string, unknown>>;
  const out: Serialized = {};
  for (const key of ['status', 'code', 'method', 'global', 'scope', 'retryAfter', 'limit', 'timeToReset', 'sublimitTimeout']) {
    const field = e[key];
    if (typeof field === 'number' || typeof field === 'boolean' || typeof field === 'string') out[key] = field;
  }
  if (typeof e['url'] === 'string') out['route'] = discordRoute(e['url']);
  else if (typeof e['route'] === 'string') out['route'] = redactTokens(e['route']);
  return out;
}

/** An error's own fields as pino would log them, with tokens out of strings and nested errors read by the same rules. */
function copyFields(error: Error, out: Serialized, depth: number, seen: Set<object>): void {
  for (const key in error) {
    if (key in out || key === 'cause' || key === 'errors' || key === 'stack' || key === 'requestBody') continue;
    const field = (error as unknown as Record<string, unknown>)[key];
    out[key] = safeValue(field, depth, seen);
  }
}

/** A field's value with tokens out of its strings, and errors inside plain objects and arrays read by the same rules. */
function safeValue(value: unknown, depth = 0, seen = new Set<object>()): unknown {
  if (typeof value === 'string') return redactTokens(value);
  if (isErrorLike(value)) return serialize(value, depth + 1, seen);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => safeValue(item, depth + 1, seen));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, safeValue(item, depth + 1, seen)]));
}

/** discord.js's REST errors, from whichever copy of @discordjs/rest threw them: anything that kept its request body. */
function isRestError(error: Error): boolean {
  return error instanceof DiscordAPIError || error instanceof HTTPError || error instanceof RateLimitError || 'requestBody' in error;
}

function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { message?: unknown }).message === 'string' &&
      typeof (value as { stack?: unknown }).stack === 'string')
  );
}

/** The class's name (`DiscordAPIError`, not its `name`, which discord.js decorates with the code or the route). */
function typeOf(error: Error): string {
  const ctor = (error as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== 'Object' ? ctor.name : error.name;
}

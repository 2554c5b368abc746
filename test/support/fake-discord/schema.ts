import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';

/** Vendored beside this file (openapi/README.md says where it comes from), so a fresh clone validates too. */
const DEFAULT_OPENAPI_PATH = fileURLToPath(new URL('./openapi/discord-openapi.json', import.meta.url));
const COMPONENTS_ID = 'https://fake-discord.invalid/discord-openapi.json';

const cache = new Map<string, ValidateFunction | null>();
let warned = false;

function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/components/') ? COMPONENTS_ID + x : rewriteRefs(x);
    }
    return out;
  }
  return v;
}

export function resolveOpenApiPath(option: string | false | undefined): string | null {
  if (option === false) return null;
  const p = option ?? process.env['DISCORD_OPENAPI_PATH'] ?? DEFAULT_OPENAPI_PATH;
  if (existsSync(p)) return p;
  if (!warned) {
    warned = true;
    console.warn(`[fake-discord] OpenAPI description not found at ${p}: message bodies are not schema-validated`);
  }
  return null;
}

type Spec = {
  components: unknown;
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } } | undefined>>;
};

/** One ajv per description, holding its components: compiling them is the slow part, so it is done once. */
const compilers = new Map<string, { ajv: Ajv2020; spec: Spec }>();

function compilerFor(path: string): { ajv: Ajv2020; spec: Spec } {
  let c = compilers.get(path);
  if (!c) {
    const spec = JSON.parse(readFileSync(path, 'utf8')) as Spec;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    ajv.addFormat('snowflake', /^(0|[1-9][0-9]*)$/);
    ajv.addFormat('nonce', true);
    for (const f of ['int64', 'int32', 'double', 'uri', 'date-time']) ajv.addFormat(f, true);
    ajv.addSchema({ $id: COMPONENTS_ID, components: rewriteRefs(spec.components) });
    compilers.set(path, (c = { ajv, spec }));
  }
  return c;
}

/** The validator of a route's JSON request body (compiled once per process, description and route); null when it has none. */
export function requestValidator(path: string, apiPath: string, method: 'post' | 'patch'): ValidateFunction | null {
  const key = `${path}|${method} ${apiPath}`;
  if (cache.has(key)) return cache.get(key) ?? null;
  const { ajv, spec } = compilerFor(path);
  const schema = spec.paths[apiPath]?.[method]?.requestBody?.content?.['application/json']?.schema;
  const validate = schema ? ajv.compile(rewriteRefs(schema) as object) : null;
  cache.set(key, validate);
  return validate;
}

/** The create_message request validator. */
export function messageCreateValidator(path: string): ValidateFunction | null {
  return requestValidator(path, '/channels/{channel_id}/messages', 'post');
}

/** The update_message (PATCH) request validator. */
export function messageEditValidator(path: string): ValidateFunction | null {
  return requestValidator(path, '/channels/{channel_id}/messages/{message_id}', 'patch');
}

/** IS_COMPONENTS_V2: a message laid out by its components, whose top level is not limited to 5 action rows. */
const COMPONENTS_V2 = 1 << 15;
const LINK_STYLE = 5;
const MAX_ROWS = 5;

/**
 * What Discord refuses in `components` beyond the OpenAPI shapes (the description allows 40 top-level
 * components, for layout messages): more than 5 action rows, a link button without a `url` (or with
 * a `custom_id`), another button without a `custom_id`, a link that is not http(s) or discord.
 * Discord's nested `errors`, empty when the components are fine.
 */
export function componentErrors(components: unknown, flags: unknown): Record<string, unknown> {
  if (!Array.isArray(components)) return {};
  const bad = (code: string, message: string) => ({ _errors: [{ code, message }] });
  const out: Record<string, unknown> =
    (Number(flags ?? 0) & COMPONENTS_V2) === 0 && components.length > MAX_ROWS
      ? bad('BASE_TYPE_MAX_LENGTH', `Must be ${MAX_ROWS} or fewer in length.`)
      : {};
  components.forEach((row: unknown, i) => {
    const items = (row as { type?: unknown; components?: unknown } | null)?.type === 1 ? (row as { components?: unknown }).components : null;
    if (!Array.isArray(items)) return;
    items.forEach((item: unknown, j) => {
      const b = item as { type?: unknown; style?: unknown; url?: unknown; custom_id?: unknown } | null;
      if (b?.type !== 2) return;
      let error: Record<string, unknown> | null = null;
      if (b.style === LINK_STYLE) {
        if (typeof b.url !== 'string' || b.url === '') error = { url: bad('BASE_TYPE_REQUIRED', 'This field is required') };
        else if (!/^(https?|discord):\/\/./i.test(b.url))
          error = { url: bad('URL_TYPE_INVALID_SCHEME', 'Scheme must be one of (http, https, discord).') };
        else if (b.custom_id != null) error = { custom_id: bad('COMPONENT_CUSTOM_ID_NOT_ALLOWED', 'A link button may not have a custom_id.') };
      } else if (b.style !== 6 && (typeof b.custom_id !== 'string' || b.custom_id === '')) {
        error = { custom_id: bad('BASE_TYPE_REQUIRED', 'This field is required') };
      }
      if (error) ((out[String(i)] ??= { components: {} }) as { components: Record<string, unknown> }).components[String(j)] = error;
    });
  });
  return Object.keys(out).length > 0 ? { components: out } : {};
}

/** Convert ajv errors into Discord's nested `errors` object ({field: {_errors: [{code, message}]}}). */
export function toDiscordErrors(errors: ErrorObject[] | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of errors ?? []) {
    // oneOf/anyOf umbrella errors repeat what their branches said
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') continue;
    const parts = e.instancePath.split('/').filter(Boolean);
    let node = out;
    for (const p of parts) {
      node = (node[p] ??= {}) as Record<string, unknown>;
    }
    const list = (node['_errors'] ??= []) as { code: string; message: string }[];
    const code =
      e.keyword === 'type'
        ? 'BASE_TYPE_BAD_TYPE'
        : e.keyword === 'maxLength' || e.keyword === 'maxItems'
          ? 'BASE_TYPE_MAX_LENGTH'
          : e.keyword === 'required'
            ? 'BASE_TYPE_REQUIRED'
            : 'BASE_TYPE_INVALID';
    if (!list.some((x) => x.message === e.message)) list.push({ code, message: e.message ?? 'Invalid' });
  }
  if (Object.keys(out).length === 0) out['_errors'] = [{ code: 'BASE_TYPE_INVALID', message: 'Invalid Form Body' }];
  return out;
}

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

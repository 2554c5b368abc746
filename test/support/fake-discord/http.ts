/**
 * HTTP plumbing of the fake's REST API and CDN: the route table, one request's context, how an
 * answer is sent (or dropped, held, stalled as a fault asks), the rate-limit buckets, the
 * matching of faults, and reading a body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readBody, type BodyResult } from './body.js';
import { Bucket, tooManyRequests } from './bucket.js';
import type { FakeState } from './state.js';
import type { Fault, RecordedRequest } from './types.js';

export interface RouteDef {
  method: string;
  segs: string[];
  name: string;
  auth: boolean;
  /** Param that is the bucket's major parameter. */
  major?: string;
  cdn?: boolean;
  handler: (ctx: Ctx) => Promise<void> | void;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  route: RouteDef;
  params: Record<string, string>;
  query: URLSearchParams;
  rec: RecordedRequest;
  bucket: Bucket | null;
  dropResponse: boolean;
  dropReset: boolean;
  hangResponse: boolean;
  /** storeThenStallAnswer: the answer stops half-way through its body. */
  stallAnswer: boolean;
  /** A cutBody fault: bytes of the body sent before the connection is closed. */
  cutBodyAfter?: number;
  /** A `hold` fault with `afterBody`: the route waits for this once the whole body is in. */
  holdAfterBody?: Promise<unknown>;
  finished: boolean;
}

/** Close a client connection: RST (the client sees ECONNRESET) or a plain FIN ('other side closed'). */
export function killSocket(socket: Socket, reset: boolean): void {
  if (reset && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
  else socket.destroy();
}

/** Thrown by a route to end it early with this answer (status and Discord's error body). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`${status} ${String(body['message'])}`);
  }
}

/** The client went away before its body was in: nothing is answered. */
export class AbortedRequest extends Error {}

export const err = {
  unknownChannel: () => new HttpError(404, { message: 'Unknown Channel', code: 10003 }),
  unknownMessage: () => new HttpError(404, { message: 'Unknown Message', code: 10008 }),
  unknownWebhook: () => new HttpError(404, { message: 'Unknown Webhook', code: 10015 }),
  unknownInteraction: () => new HttpError(404, { message: 'Unknown interaction', code: 10062 }),
  unknownGuild: () => new HttpError(404, { message: 'Unknown Guild', code: 10004 }),
  tooLarge: () => new HttpError(413, { message: 'Request entity too large', code: 40005 }),
  invalidForm: (errors: Record<string, unknown>) => new HttpError(400, { message: 'Invalid Form Body', code: 50035, errors }),
  badRequest: (message: string) => new HttpError(400, { message, code: 50109 }),
};

export const fieldError = (code: string, message: string) => ({ _errors: [{ code, message }] });

export type RouteTable = ReturnType<typeof routeTable>;

export function routeTable() {
  const routes: RouteDef[] = [];
  function route(method: string, pattern: string, opts: { auth?: boolean; major?: string; cdn?: boolean }, handler: RouteDef['handler']): void {
    const def: RouteDef = { method, segs: pattern.split('/').filter(Boolean), name: `${method} ${pattern}`, auth: opts.auth ?? true, handler };
    if (opts.major) def.major = opts.major;
    if (opts.cdn) def.cdn = true;
    routes.push(def);
  }

  function findRoute(method: string, segs: string[], api: boolean): { route: RouteDef; params: Record<string, string> } | null {
    for (const r of routes) {
      if (r.method !== method || r.segs.length !== segs.length || Boolean(r.cdn) === api) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.segs[i]!;
        if (p.startsWith(':')) params[p.slice(1)] = segs[i]!;
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return { route: r, params };
    }
    return null;
  }

  return { route, findRoute };
}

export type Plumbing = ReturnType<typeof plumbing>;

export function plumbing(s: FakeState) {
  const { pending, requests, hanging, buckets, faultEntries } = s;

  function rateLimitHeaders(ctx: Ctx): Record<string, string> {
    return ctx.bucket ? ctx.bucket.headers(Date.now()) : {};
  }

  function finishRecord(ctx: Ctx, status: number): void {
    pending.delete(ctx.rec);
    ctx.rec.status = status;
    ctx.rec.durationMs = Date.now() - ctx.rec.time;
    requests.push(ctx.rec);
  }

  function send(ctx: Ctx, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (ctx.finished) return;
    ctx.finished = true;
    if (body && typeof body === 'object' && typeof (body as { code?: unknown }).code === 'number' && status >= 400)
      ctx.rec.code = (body as { code: number }).code;
    if (ctx.dropResponse) {
      killSocket(ctx.req.socket, ctx.dropReset);
      finishRecord(ctx, 0);
      return;
    }
    if (ctx.hangResponse) {
      const res = ctx.res;
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      finishRecord(ctx, 0);
      return;
    }
    const allHeaders: Record<string, string> = { ...rateLimitHeaders(ctx), ...headers, Via: '1.1 google', 'X-Fake-Discord': '1' };
    if (body === undefined || status === 204) {
      ctx.res.writeHead(status, allHeaders);
      ctx.res.end();
    } else {
      const buf = Buffer.from(JSON.stringify(body));
      ctx.res.writeHead(status, { ...allHeaders, 'Content-Type': 'application/json', 'Content-Length': String(buf.length) });
      if (ctx.stallAnswer) {
        ctx.res.write(buf.subarray(0, buf.length >> 1));
        const res = ctx.res;
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      } else {
        ctx.res.end(buf);
      }
    }
    finishRecord(ctx, status);
  }

  /** `wholeSeconds`: Retry-After as Discord sends it (the network model); else with decimals, so waits in tests stay short. */
  function send429(ctx: Ctx, retryAfterMs: number, global: boolean, scope: 'user' | 'shared' | 'global', wholeSeconds = false): void {
    const now = Date.now();
    const answer = tooManyRequests(now, retryAfterMs, { global, scope, wholeSeconds, bucket: rateLimitHeaders(ctx) });
    send(ctx, 429, answer.body, answer.headers);
  }

  function bucketFor(route: RouteDef, params: Record<string, string>): Bucket | null {
    if (route.cdn) return null;
    const major = route.major ? (params[route.major] ?? '') : '';
    const key = `${route.name}:${major}`;
    let b = buckets.get(key);
    if (!b) {
      const hash = createHash('sha1').update(route.name).digest('hex').slice(0, 32);
      const isCreate = route.name === 'POST /channels/:id/messages';
      const { channelRateLimit } = s;
      b = isCreate && channelRateLimit ? new Bucket(channelRateLimit.limit, channelRateLimit.windowMs, hash) : new Bucket(50, 1000, hash);
      buckets.set(key, b);
    }
    return b;
  }

  function matchFault(ctx: Ctx): Fault | null {
    const info = { method: ctx.rec.method, route: ctx.rec.route, path: ctx.rec.path };
    for (let i = 0; i < faultEntries.length; i++) {
      const e = faultEntries[i]!;
      const matches = typeof e.fault.route === 'function' ? e.fault.route(info) : e.fault.route === info.route || e.fault.route === '*';
      if (!matches) continue;
      e.seen++;
      if (e.seen <= (e.fault.after ?? 0)) continue;
      e.applied++;
      if (e.applied >= (e.fault.times ?? 1)) faultEntries.splice(i, 1);
      return e.fault;
    }
    return null;
  }

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bot ${s.token}`;
  }

  async function body(ctx: Ctx): Promise<BodyResult> {
    const b = await readBody(ctx.req, {
      maxRequestBytes: s.maxRequestBytes,
      attachmentSizeLimit: s.attachmentSizeLimit,
      retainFileBytes: s.retainFileBytes,
    });
    ctx.rec.bytes = b.bytes;
    if (b.kind !== 'aborted') ctx.rec.bodyAt = Date.now();
    // A body that arrived whole is Discord's to act on, whether or not its client is still there.
    if (b.kind !== 'aborted' && ctx.holdAfterBody) await ctx.holdAfterBody.catch(() => undefined);
    if (b.kind === 'aborted') {
      // The response's 'close' may have recorded it already.
      if (!ctx.finished) {
        ctx.finished = true;
        finishRecord(ctx, 0);
      }
      throw new AbortedRequest();
    }
    return b;
  }

  return { finishRecord, send, send429, bucketFor, matchFault, authorized, body };
}

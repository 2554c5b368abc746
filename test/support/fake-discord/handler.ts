/**
 * One HTTP request to the fake, from its path to its answer: the route, authorization, the
 * fault a test asked for (held answers included), the rate limits, then the route's handler.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { drain } from './body.js';
import { AbortedRequest, HttpError, killSocket, type Ctx, type Plumbing, type RouteDef, type RouteTable } from './http.js';
import type { FakeState } from './state.js';
import type { Fault, RecordedRequest } from './types.js';
import { sleep } from '../wait.js';

export function requestHandler(s: FakeState, h: Plumbing, findRoute: RouteTable['findRoute']) {
  const { pending, hanging, gateway } = s;
  const { finishRecord, send, send429 } = h;

  /** Applies a fault; true when it answered the request (or dropped it), false when the route still runs. */
  async function applyFault(ctx: Ctx, fault: Fault): Promise<boolean> {
    const { req, res, rec } = ctx;
    rec.fault = fault.kind;
    switch (fault.kind) {
      case 'status':
        rec.bytes = await drain(req);
        if (fault.afterMs) await sleep(fault.afterMs);
        await fault.hold?.();
        send(ctx, fault.status, fault.body ?? { message: http.STATUS_CODES[fault.status] ?? 'Error', code: 0 });
        return true;
      case 'rateLimit': {
        rec.bytes = await drain(req);
        await fault.hold?.();
        const now = Date.now();
        const global = fault.global === true || fault.scope === 'global';
        if (global) s.limits.globalBlockedUntil = now + fault.retryAfterMs;
        else if (ctx.bucket) ctx.bucket.blockedUntil = now + fault.retryAfterMs;
        send429(ctx, fault.retryAfterMs, global, fault.scope ?? (global ? 'global' : 'user'));
        return true;
      }
      case 'delay':
        await sleep(fault.ms);
        return false;
      case 'hold':
        if (fault.afterBody) ctx.holdAfterBody = fault.until;
        else await fault.until.catch(() => undefined);
        return false;
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        req.resume();
        ctx.finished = true;
        finishRecord(ctx, 0);
        return true;
      case 'dropConnection':
        if (fault.hold) {
          // Lost after the whole body arrived, while Discord would be working on it.
          rec.bytes = await drain(req);
          await fault.hold();
        }
        await new Promise<void>((resolve) => {
          if (req.readableEnded) return resolve();
          req.once('data', () => resolve());
          req.once('end', () => resolve());
          setTimeout(resolve, 50);
        });
        ctx.finished = true;
        killSocket(req.socket, fault.reset !== false);
        finishRecord(ctx, 0);
        return true;
      case 'storeThenHang':
        ctx.hangResponse = true;
        return false;
      case 'storeThenStallAnswer':
        ctx.stallAnswer = true;
        return false;
      case 'storeThenDrop':
        ctx.dropResponse = true;
        ctx.dropReset = fault.reset !== false;
        return false;
      case 'closeGateway':
        gateway.closeAll(fault.code ?? 4000);
        return false;
      case 'cutBody':
        ctx.cutBodyAfter = fault.bytes;
        return false;
    }
    return false;
  }

  /** Answers a 429 when the route's bucket, or a global block, says so; true when it did. */
  async function rateLimited(ctx: Ctx, route: RouteDef): Promise<boolean> {
    if (route.cdn) return false;
    const now = Date.now();
    if (now < s.limits.globalBlockedUntil) {
      ctx.rec.bytes = await drain(ctx.req);
      send429(ctx, s.limits.globalBlockedUntil - now, true, 'global');
      return true;
    }
    const counted = s.countAtBody && route.name === 'POST /channels/:id/messages';
    const wait = ctx.bucket && !counted ? ctx.bucket.take(now) : 0;
    if (wait > 0) {
      ctx.rec.bytes = await drain(ctx.req);
      send429(ctx, wait, false, 'user');
      return true;
    }
    return false;
  }

  /** The route's path segments, with the `/api` or `/api/v10` prefix that marks the REST API taken off. */
  function pathOf(parsed: URL): { segs: string[]; api: boolean } {
    let p = parsed.pathname;
    let api = false;
    if (p.startsWith('/api/v10/') || p === '/api/v10') {
      api = true;
      p = p.slice('/api/v10'.length);
    } else if (p.startsWith('/api/')) {
      api = true;
      p = p.slice('/api'.length);
    }
    try {
      return {
        api,
        segs: p
          .split('/')
          .filter(Boolean)
          .map((x) => decodeURIComponent(x)),
      };
    } catch {
      return { api, segs: p.split('/').filter(Boolean) };
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    const { segs, api } = pathOf(parsed);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = '/' + segs.join('/');
    const found = findRoute(method, segs, api);
    const rec: RecordedRequest = {
      method,
      route: found ? found.route.name : `${method} ${path}`,
      path,
      query: parsed.search,
      status: 0,
      time: started,
      bytes: 0,
      durationMs: 0,
    };
    pending.add(rec);
    const fallbackRoute: RouteDef = { method, segs, name: rec.route, auth: false, handler: () => {} };
    const ctx: Ctx = {
      req,
      res,
      route: found?.route ?? fallbackRoute,
      params: found?.params ?? {},
      query: parsed.searchParams,
      rec,
      bucket: null,
      dropResponse: false,
      dropReset: true,
      hangResponse: false,
      stallAnswer: false,
      finished: false,
    };
    res.on('close', () => {
      if (!ctx.finished) {
        ctx.finished = true;
        finishRecord(ctx, 0);
      }
    });
    try {
      if (!found) {
        rec.bytes = await drain(req);
        send(ctx, 404, api ? { message: '404: Not Found', code: 0 } : undefined);
        return;
      }
      if (found.route.auth && !h.authorized(req)) {
        rec.bytes = await drain(req);
        send(ctx, 401, { message: '401: Unauthorized', code: 0 });
        return;
      }
      ctx.bucket = h.bucketFor(found.route, found.params);
      const fault = h.matchFault(ctx);
      if (fault && (await applyFault(ctx, fault))) return;
      if (await rateLimited(ctx, found.route)) return;
      await found.route.handler(ctx);
      if (!ctx.finished) send(ctx, 204);
    } catch (e) {
      if (e instanceof AbortedRequest) return;
      if (e instanceof HttpError) {
        if (!(req.readableEnded || req.complete)) rec.bytes += await drain(req);
        send(ctx, e.status, e.body);
        return;
      }
      console.error('[fake-discord] handler error', e);
      if (!ctx.finished && !res.headersSent) send(ctx, 500, { message: '500: Internal Server Error', code: 0 });
    }
  };
}

/** The attachment CDN: signed links that expire, byte ranges, and the `cutBody` fault. */
import { killSocket } from './http.js';
import type { RouteDeps } from './routes.js';

export function cdnRoutes({ s, r, h, route }: RouteDeps): void {
  const { finishRecord } = h;
  const { signPath, hmac } = r;
  const { attachments, messageOrder, issuedUrls } = s;

  for (const prefix of ['/attachments', '/media/attachments']) {
    for (const method of ['GET', 'HEAD']) {
      route(method, `${prefix}/:channel/:attachment/:filename`, { auth: false, cdn: true }, (ctx) => {
        const a = attachments.get(ctx.params['attachment']!);
        const ex = ctx.query.get('ex') ?? '';
        const is = ctx.query.get('is') ?? '';
        const hm = ctx.query.get('hm') ?? '';
        const notAvailable = () => {
          ctx.finished = true;
          const text = 'This content is no longer available.';
          ctx.res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(text)) });
          ctx.res.end(method === 'HEAD' ? undefined : text);
          finishRecord(ctx, 404);
        };
        if (!a || a.channelId !== ctx.params['channel'] || a.filename !== ctx.params['filename']) return notAvailable();
        // Bytes dropped on receipt (retainAttachments): nothing to serve.
        if (a.data.length !== a.size) return notAvailable();
        const owner = messageOrder.find((m) => m.attachments.includes(a));
        if (!owner || owner.deleted) return notAvailable();
        const expected = hmac(signPath(a), ex, is);
        const expiry = issuedUrls.get(hm) ?? parseInt(ex, 16) * 1000;
        if (hm !== expected || !(Date.now() < expiry)) return notAvailable();
        let data = a.data;
        let status = 200;
        const headers: Record<string, string> = {
          'Content-Type': a.contentType,
          'Accept-Ranges': 'bytes',
          'Cache-Control': 'public, max-age=31536000',
        };
        const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.req.headers.range ?? '');
        if (range && (range[1] || range[2])) {
          let start = range[1] ? Number(range[1]) : a.size - Number(range[2]);
          let end = range[1] && range[2] ? Number(range[2]) : a.size - 1;
          start = Math.max(0, start);
          end = Math.min(end, a.size - 1);
          if (start > end) {
            ctx.finished = true;
            ctx.res.writeHead(416, { 'Content-Range': `bytes */${a.size}` });
            ctx.res.end();
            return finishRecord(ctx, 416);
          }
          data = a.data.subarray(start, end + 1);
          status = 206;
          headers['Content-Range'] = `bytes ${start}-${end}/${a.size}`;
        }
        ctx.finished = true;
        ctx.res.writeHead(status, { ...headers, 'Content-Length': String(data.length) });
        if (ctx.cutBodyAfter !== undefined && method === 'GET') {
          // Flushed first, so the client really gets these bytes before the close.
          ctx.res.write(data.subarray(0, ctx.cutBodyAfter), () => killSocket(ctx.req.socket, false));
          return finishRecord(ctx, status);
        }
        ctx.res.end(method === 'HEAD' ? undefined : data);
        finishRecord(ctx, status);
      });
    }
  }
}

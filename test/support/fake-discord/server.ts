/**
 * `startFakeDiscord`: a fake Discord (REST v10, gateway, attachment CDN) on 127.0.0.1. The
 * parts: `state.ts` (what it holds), `http.ts` (plumbing), `handler.ts` (one request, faults,
 * rate limits), the `routes-*.ts`, `render.ts`, `message-store.ts`, `interactions.ts`.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { channelStore } from './channels.js';
import { requestHandler } from './handler.js';
import { plumbing, routeTable } from './http.js';
import { interactionSender } from './interactions.js';
import { messageStore } from './message-store.js';
import { startLinkProxy, type LinkProxy } from './network/link-proxy.js';
import { renderers } from './render.js';
import { registerRoutes } from './routes.js';
import { createState } from './state.js';
import type { Fault, FakeDiscord, FakeDiscordOptions, FakeMessage, ModeratorAction } from './types.js';

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const s = createState(options);
  const r = renderers(s);
  const h = plumbing(s);
  const m = messageStore(s, r);
  const c = channelStore(s, r, m);
  s.rendering.activeThreads = (guildId) =>
    [...s.threads.values()].filter((t) => t.guildId === guildId && !t.deleted && !t.archived).map((t) => r.renderThread(t, true));
  const { route, findRoute } = routeTable();
  registerRoutes({ s, r, h, m, c, route });
  const handle = requestHandler(s, h, findRoute);

  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => s.gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // The network model (bench --network): every connection, the gateway's included, passes the link.
  let proxy: LinkProxy | null = null;
  if (options.link) {
    const { uploadBytesPerSecond, rttMs } = options.link;
    proxy = await startLinkProxy(port, { bytesPerSecond: uploadBytesPerSecond, rttMs });
  }
  const publicPort = proxy?.port ?? port;
  s.addresses.url = `http://127.0.0.1:${publicPort}`;
  s.addresses.gatewayUrl = `ws://127.0.0.1:${publicPort}`;

  const { url, gatewayUrl } = s.addresses;
  const { messageOrder, attachments, gateway, faultEntries } = s;
  const fake: FakeDiscord = {
    url,
    apiUrl: `${url}/api`,
    gatewayUrl,
    token: s.token,
    applicationId: s.applicationId,
    guildId: s.guilds[0]!.id,
    botUserId: s.botUserId,
    guildOwnerId: s.guildOwnerId,
    channels: s.guilds[0]!.channels,
    guilds: s.guilds.map((g) => ({ id: g.id, channels: g.channels })),
    shards: s.shardCount,
    defaultUser: s.defaultUser,
    schemaValidation: s.validateCreate !== null,
    requests: s.requests,
    pendingRequests: () => [...s.pending],
    sendInteraction: interactionSender(s, r),
    messages(channelId?: string): FakeMessage[] {
      return messageOrder.filter((x) => !x.deleted && (x.flags & 64) === 0 && (channelId === undefined || x.channel_id === channelId)).map(r.toFake);
    },
    threads: (parentId?: string) => [...s.threads.values()].filter((t) => parentId === undefined || t.parentId === parentId).map(c.toFakeThread),
    moderateThread(threadId: string, action: ModeratorAction): void {
      const thread = s.threads.get(threadId);
      if (!thread || thread.deleted) throw new Error(`fake-discord: no thread ${threadId} to moderate`);
      if (action === 'delete') c.deleteThread(thread);
      else c.updateThread(thread, action);
    },
    allMessagesEver(): FakeMessage[] {
      return messageOrder.map(r.toFake);
    },
    attachmentBytes(attachmentId: string): Buffer {
      const a = attachments.get(attachmentId);
      if (!a) throw new Error(`fake-discord: unknown attachment ${attachmentId}`);
      if (a.data.length !== a.size)
        throw new Error(`fake-discord: the bytes of attachment ${attachmentId} were not kept (retainAttachments); use attachmentDigest`);
      return a.data;
    },
    attachmentDigest(attachmentId: string): { size: number; sha256: string } {
      const a = attachments.get(attachmentId);
      if (!a) throw new Error(`fake-discord: unknown attachment ${attachmentId}`);
      a.sha256 ??= createHash('sha256').update(a.data).digest('hex');
      return { size: a.size, sha256: a.sha256 };
    },
    corruptAttachment(attachmentId: string, at = 0): void {
      const a = attachments.get(attachmentId);
      if (!a || a.data.length !== a.size) throw new Error(`fake-discord: no kept bytes for attachment ${attachmentId}`);
      // A copy: a received Buffer may share memory with others.
      a.data = Buffer.from(a.data);
      a.data[at] = (a.data[at]! + 1) % 256;
    },
    commands(gid?: string): unknown[] {
      return gid === undefined ? [...s.globalCommands] : [...(s.guildCommands.get(gid) ?? [])];
    },
    gatewayOps: () => [...gateway.log],
    gatewayConnections: () => gateway.openConnections(),
    gatewaySessions: () => gateway.sessionList(),
    faults: {
      add(f: Fault) {
        faultEntries.push({ fault: f, seen: 0, applied: 0 });
      },
      clear() {
        faultEntries.length = 0;
      },
      pending: () => faultEntries.map((e) => e.fault),
    },
    closeGateway(code = 4000) {
      gateway.closeAll(code);
    },
    reconnectRequest() {
      gateway.reconnect();
    },
    freezeGateway() {
      gateway.freeze();
    },
    async stop() {
      if (s.lifecycle.stopped) return;
      s.lifecycle.stopped = true;
      for (const res of s.hanging) res.socket?.destroy();
      s.hanging.clear();
      await gateway.stop();
      await proxy?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return fake;
}

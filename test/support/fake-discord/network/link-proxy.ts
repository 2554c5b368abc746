/**
 * The network model between real sockets: a TCP proxy on 127.0.0.1 in front of the fake
 * Discord that passes every connection through a Link (shaper.ts). The client's socket is read
 * only as fast as the uplink releases bytes (paused otherwise), so the client meets the
 * backpressure of a slow link; a reset on one side resets the other, as a dropped
 * connection would.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import { Link, systemClock, type Clock, type LinkOptions } from './shaper.js';

export interface LinkProxy {
  port: number;
  link: Link;
  close(): Promise<void>;
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

export async function startLinkProxy(targetPort: number, options: LinkOptions, clock: Clock = systemClock): Promise<LinkProxy> {
  const link = new Link(options, clock);
  const sockets = new Set<Socket>();
  // Half-open both ways: each end is passed on after the bytes before it, not at once.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);
    const connection = link.open({
      toServer: (chunk) => {
        if (!upstream.write(chunk)) connection.serverBlocked(true);
      },
      toClient: (chunk) => {
        if (!client.write(chunk)) upstream.pause();
      },
      endToServer: () => upstream.end(),
      endToClient: () => client.end(),
      pauseClient: () => client.pause(),
      resumeClient: () => client.resume(),
    });
    upstream.on('drain', () => connection.serverBlocked(false));
    client.on('drain', () => upstream.resume());
    client.on('data', (chunk: Buffer) => connection.fromClient(chunk));
    upstream.on('data', (chunk: Buffer) => connection.fromServer(chunk));
    client.on('end', () => connection.endFromClient());
    upstream.on('end', () => connection.endFromServer());
    // An error on one side (a reset, mostly) resets the other at once.
    client.on('error', () => reset(upstream));
    upstream.on('error', () => reset(client));
    const closed = (socket: Socket) => () => {
      sockets.delete(socket);
      if (client.destroyed && upstream.destroyed) connection.close();
    };
    client.on('close', closed(client));
    upstream.on('close', closed(upstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    link,
    close: async () => {
      const done = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

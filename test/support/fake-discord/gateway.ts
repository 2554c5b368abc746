import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import type { GatewayOpRecord, GatewaySessionInfo } from './types.js';
import { shardOfGuild } from './util.js';

interface Dispatch {
  op: 0;
  t: string;
  s: number;
  d: unknown;
}

interface Session {
  id: string;
  seq: number;
  events: Dispatch[];
  ws: WebSocket | null;
  shard: [number, number] | undefined;
  intents: number;
}

export interface GatewayOptions {
  token: string;
  heartbeatIntervalMs: number;
  gatewayUrl: () => string;
  ready: (session: { id: string; shard: [number, number] | undefined }) => unknown;
  /** The GUILD_CREATEs a session of this shard gets (every guild for an unsharded one). */
  guildCreates: (shard: [number, number] | undefined) => unknown[];
  /** Close every IDENTIFY with this code instead of READY (Discord: 4004 bad token, 4014 disallowed intents). */
  identifyCloseCode?: number | undefined;
  /** An IDENTIFY without `shard`, or with fewer shards than this, is closed with 4011 (Discord: sharding required). */
  requiredShards?: number | undefined;
}

/** IDENTIFY's `shard`: absent, `[id, count]` with 0 <= id < count, or something Discord answers with 4010. */
function identifyShard(value: unknown): [number, number] | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length !== 2) return 'invalid';
  const [id, count] = value as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return 'invalid';
  const [i, n] = [id as number, count as number];
  return i >= 0 && n >= 1 && i < n ? [i, n] : 'invalid';
}

const MAX_REPLAY = 2000;

/**
 * Close codes after which Discord does not let the session be resumed: 4007/4009 need a new
 * IDENTIFY, and 4004 and 4010-4014 are fatal (a client must not reconnect at all).
 */
const SESSION_ENDING_CLOSE_CODES = new Set([4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014]);

/**
 * The fake gateway: JSON encoding, HELLO/IDENTIFY/READY/RESUME/heartbeats, and sharding as
 * Discord does it: a session of shard [id, count] gets only the events of the guilds on it.
 */
export class FakeGateway {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 * 1024 });
  readonly sessions = new Map<string, Session>();
  readonly log: GatewayOpRecord[] = [];
  private readonly sockets = new Set<WebSocket>();
  /** The TCP socket under each connection, to stop reading from it (`freeze`). */
  private readonly rawSockets = new Map<WebSocket, Duplex>();

  constructor(private readonly opts: GatewayOptions) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/' || (url.searchParams.get('encoding') ?? 'json') !== 'json') {
      socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.rawSockets.set(ws, socket);
      this.onConnection(ws);
    });
  }

  private send(ws: WebSocket, payload: { op: number; d: unknown; s?: number | null; t?: string | null }, sessionId?: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    const rec: GatewayOpRecord = { op: payload.op, direction: 'out', time: Date.now() };
    if (payload.t) rec.t = payload.t;
    if (sessionId) rec.sessionId = sessionId;
    this.log.push(rec);
    ws.send(JSON.stringify({ s: null, t: null, ...payload }));
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    let session: Session | null = null;
    ws.on('close', (code) => {
      this.sockets.delete(ws);
      this.rawSockets.delete(ws);
      if (session && session.ws === ws) {
        session.ws = null;
        // A client-side normal close ends the session, as on Discord.
        if (code === 1000 || code === 1001) this.sessions.delete(session.id);
      }
    });
    ws.on('error', () => {});
    this.send(ws, { op: 10, d: { heartbeat_interval: this.opts.heartbeatIntervalMs, _trace: ['["fake-discord-gateway"]'] } });
    ws.on('message', (raw) => {
      let msg: { op?: number; d?: any };
      try {
        msg = JSON.parse(
          Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString('utf8'),
        ) as { op?: number; d?: any };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      const rec: GatewayOpRecord = { op: msg.op ?? -1, direction: 'in', time: Date.now() };
      if (session) rec.sessionId = session.id;
      this.log.push(rec);
      switch (msg.op) {
        case 1:
          this.send(ws, { op: 11, d: null }, session?.id);
          break;
        case 2: {
          if (session) {
            ws.close(4005, 'Already authenticated.');
            return;
          }
          if (!this.tokenOk(msg.d?.token)) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          if (this.opts.identifyCloseCode !== undefined) {
            ws.close(this.opts.identifyCloseCode, 'fake-discord refused the IDENTIFY');
            return;
          }
          const shard = identifyShard(msg.d?.shard);
          if (shard === 'invalid') {
            ws.close(4010, 'Invalid shard.');
            return;
          }
          const required = this.opts.requiredShards;
          if (required !== undefined && (shard === undefined || shard[1] < required)) {
            ws.close(4011, 'Sharding required.');
            return;
          }
          session = { id: randomBytes(16).toString('hex'), seq: 0, events: [], ws, shard, intents: Number(msg.d?.intents ?? 0) };
          this.sessions.set(session.id, session);
          this.pushDispatch(session, 'READY', this.opts.ready({ id: session.id, shard }));
          for (const g of this.opts.guildCreates(shard)) this.pushDispatch(session, 'GUILD_CREATE', g);
          break;
        }
        case 6: {
          if (!this.tokenOk(msg.d?.token)) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          const s = this.sessions.get(String(msg.d?.session_id));
          if (!s) {
            this.send(ws, { op: 9, d: false });
            return;
          }
          if (s.ws && s.ws !== ws) s.ws.close(4009, 'Session resumed elsewhere.');
          session = s;
          s.ws = ws;
          const from = Number(msg.d?.seq ?? 0);
          for (const ev of s.events) if (ev.s > from) this.send(ws, ev, s.id);
          this.pushDispatch(s, 'RESUMED', { _trace: ['["fake-discord-gateway"]'] });
          break;
        }
        case 3:
        case 4:
        case 8:
          break;
        default:
          ws.close(4001, 'Unknown opcode.');
      }
    });
  }

  private tokenOk(t: unknown): boolean {
    if (typeof t !== 'string') return false;
    const bare = t.startsWith('Bot ') ? t.slice(4) : t;
    return bare === this.opts.token;
  }

  private pushDispatch(session: Session, t: string, d: unknown): void {
    const ev: Dispatch = { op: 0, t, s: ++session.seq, d };
    session.events.push(ev);
    if (session.events.length > MAX_REPLAY) session.events.splice(0, session.events.length - MAX_REPLAY);
    if (session.ws) this.send(session.ws, ev, session.id);
  }

  /**
   * Dispatch to every identified session (queued for replay when a session is between
   * connections); an event of a guild only to the sessions of that guild's shard.
   */
  dispatch(t: string, d: unknown, intent?: number, guildId?: string): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (intent !== undefined && (s.intents & intent) === 0) continue;
      if (guildId !== undefined && s.shard && shardOfGuild(guildId, s.shard[1]) !== s.shard[0]) continue;
      this.pushDispatch(s, t, d);
      n++;
    }
    return n;
  }

  closeAll(code = 4000): void {
    // As on Discord, such a close also ends the session: a RESUME of it gets op 9.
    if (SESSION_ENDING_CLOSE_CODES.has(code)) this.sessions.clear();
    for (const ws of this.sockets) {
      try {
        ws.close(code, 'fake-discord closed the connection');
      } catch {
        ws.terminate();
      }
    }
  }

  reconnect(): void {
    for (const s of this.sessions.values()) if (s.ws) this.send(s.ws, { op: 7, d: null }, s.id);
  }

  /**
   * Stops reading from every open connection, as a network that black-holes it: nothing the
   * client sends (heartbeats, its close frame) is answered, until the client gives up.
   */
  freeze(): void {
    for (const socket of this.rawSockets.values()) socket.pause();
  }

  openConnections(): number {
    return this.sockets.size;
  }

  sessionList(): GatewaySessionInfo[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, shard: s.shard, connected: s.ws !== null }));
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

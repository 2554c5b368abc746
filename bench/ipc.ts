/** Messages between the benchmark harness and the fake Discord's process. */
export type FakeRequest = { id: number } & (
  | { op: 'start'; retainBytes: number; network?: NetworkOptions }
  | { op: 'stats' }
  | { op: 'split'; path: string }
  | { op: 'share'; transferId: string }
  | { op: 'messages'; marker: string }
  | { op: 'stop' }
);

/** The fake's side of the network model (bench/network.ts). */
export interface NetworkOptions {
  /** Absent: no link (no cap, no added round trip). Infinity: no cap. */
  link?: { uploadBytesPerSecond: number; rttMs: number };
  processingMs: number;
  bucket: { limit: number; windowMs: number };
}

/** Message creates the fake answered so far, and how many of them with a 429. */
export interface FakeStats {
  creates: number;
  tooMany: number;
}

/** A request before the harness numbers it (distributive, so each op keeps its fields). */
export type FakeCall = FakeRequest extends infer R ? (R extends FakeRequest ? Omit<R, 'id'> : never) : never;

export interface FakeReply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface PostedAttachment {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  /** Only for manifests. */
  text?: string;
}

export interface PostedMessage {
  id: string;
  attachments: PostedAttachment[];
}

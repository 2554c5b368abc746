/** Messages between the benchmark harness and the fake Discord's process. */
export type FakeRequest = { id: number } & (
  | { op: 'start'; retainBytes: number; network?: NetworkOptions }
  | { op: 'stats' }
  | { op: 'split'; path: string }
  /** `/send` in the fake's channel: the reply, with the upload link in it. */
  | { op: 'send' }
  | { op: 'share'; transferId: string }
  | { op: 'messages'; marker: string }
  /** Replaces the planned faults (none: clears them); message creates are counted from this call. */
  | { op: 'faults'; faults: PlannedFault[] }
  | { op: 'stop' }
);

/** The fake's side of the network model (bench/network.ts). */
export interface NetworkOptions {
  /** Absent: no link (no cap, no added round trip). Infinity: no cap. */
  link?: { uploadBytesPerSecond: number; rttMs: number };
  processingMs: number;
  bucket: { limit: number; windowMs: number };
}

/**
 * A failed answer to one message create (1 = the first after the plan was set), given once
 * its whole body is in and Discord's processing time has passed, as a failure while Discord
 * works on the message would: a 429, a 500, or the connection lost.
 */
export interface PlannedFault {
  kind: 'rateLimit' | 'status500' | 'dropConnection';
  create: number;
}

/** Message creates the fake answered so far, and how many of them with a 429. */
export interface FakeStats {
  creates: number;
  tooMany: number;
  /** Creates answered with anything but a message (a fault, a 429, a 5xx, a dropped connection), and the body bytes they carried. */
  refused: number;
  refusedBytes: number;
  /** Creates the client cut off itself before their end, with no answer, and the bytes of them that had arrived. */
  abandoned: number;
  abandonedBytes: number;
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
  /** The channel or thread it was posted in. */
  channelId: string;
  attachments: PostedAttachment[];
}

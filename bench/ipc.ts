/** Messages between the benchmark harness and the fake Discord's process. */
export type FakeRequest = { id: number } & (
  | { op: 'start'; retainBytes: number }
  | { op: 'split'; path: string }
  | { op: 'share'; transferId: string }
  | { op: 'messages'; marker: string }
  | { op: 'stop' }
);

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

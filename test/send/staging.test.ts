/**
 * One upload's staging folder on its own: the release of posted bytes racing the next request's first write.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { UploadStaging } from '../../src/send/staging.js';
import { seededBytes } from '../support/random-file.js';

const MIB = 1024 * 1024;
let dir: string | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A request body that hands over its chunks through promises only: the test decides what runs between them. */
function body(...chunks: Buffer[]): Readable {
  return (async function* () {
    for (const chunk of chunks) yield chunk;
  })() as unknown as Readable;
}

/** Reads everything staged from `offset` on. */
async function readAll(staging: UploadStaging, offset: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of staging.read(offset, new AbortController().signal)) out.push(chunk);
  return Buffer.concat(out);
}

describe('staging: a release and the next write', () => {
  it('GIVEN the first part posted WHEN its release comes while the next request opens the segment at that offset THEN the new segment is kept and read whole', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'staging-'));
    const file = seededBytes(2 * MIB, 3);
    const staging = await UploadStaging.open(path.join(dir, 'upload_race01'), {
      size: 2 * MIB,
      segmentBytes: MIB,
      perUploadBytes: 4 * MIB,
      releasedUpTo: 0,
    });
    await staging.write(body(file.subarray(0, MIB)), 0);

    // The next request: its segment at 1 MiB is listed before the file is open (the open waits for the thread pool).
    const writing = staging.write(body(file.subarray(MIB)), MIB);
    for (let i = 0; i < 1_000 && !staging.segmentStartsAt(MIB); i++) await Promise.resolve();
    expect(staging.segmentStartsAt(MIB)).toBe(true);
    // The first part's checkpoint saved: its bytes go, at that very moment.
    const releasing = staging.release(MIB);
    expect(await writing).toBe(2 * MIB);
    await releasing;

    expect(await readdir(staging.dir)).toEqual(['0000000001048576.part']);
    expect((await readAll(staging, MIB)).equals(file.subarray(MIB))).toBe(true);
  });
});

describe('staging: a segment whose file cannot be opened', () => {
  it('GIVEN the open of the next segment failing once WHEN the sender sends it again THEN the part is staged whole, one segment at its offset', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'staging-'));
    const file = seededBytes(2 * MIB, 4);
    const staging = await UploadStaging.open(path.join(dir, 'upload_open01'), {
      size: 2 * MIB,
      segmentBytes: MIB,
      perUploadBytes: 4 * MIB,
      releasedUpTo: 0,
    });
    await staging.write(Readable.from([file.subarray(0, MIB)]), 0);
    // A directory where the segment's file goes: its open fails (EISDIR), as a full disk or a file limit can make it.
    const blocker = path.join(staging.dir, '0000000001048576.part');
    await mkdir(blocker);
    await expect(staging.write(Readable.from([file.subarray(MIB)]), MIB)).rejects.toMatchObject({ code: 'EISDIR' });
    await rm(blocker, { recursive: true });

    expect(await staging.write(Readable.from([file.subarray(MIB)]), MIB)).toBe(2 * MIB);
    const range = await staging.fileRange(MIB, MIB, 'f.bin');
    expect(range.size).toBe(MIB);
    expect((await readAll(staging, 0)).equals(file)).toBe(true);
  });
});

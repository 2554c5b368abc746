/**
 * Positional reads until a buffer is full: one `read` may return fewer bytes than asked for
 * (a pipe, a network file system, a signal), so a reader that needs all of them loops.
 */

/** What readFully needs of a file: FileHandle's positional read, or one that wraps it (a retry). */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Reads `length` bytes of the file at `position` into `buffer` at `offset`. Returns how many
 * arrived: `length`, or fewer only when the file ended first.
 */
export async function readFully(file: PositionalReader, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, offset + filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './run-cli.js';

describe('bin/discord-file-splitter.js', () => {
  it('GIVEN --help THEN prints the usage and exits 0', async () => {
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO, 'bin/discord-file-splitter.js'), '--help'], { cwd: REPO, timeout: 50_000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      );
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/split <file> \[--chunk-size N\] \[--out DIR\]/);
  });
});

/**
 * bin/discord-file-splitter.js as a packed install has it: the bin beside a dist/ compiled
 * from the sources (into a temp folder, so the working tree's own dist/ is neither needed nor
 * touched), and without one.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './run-cli.js';
import { tempDirForFile } from '../support/temp.js';

const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');

/** A folder with bin/ and package.json (for "type": "module"), and dist/ when `built`. */
async function install(root: string, built: boolean): Promise<string> {
  await mkdir(path.join(root, 'bin'), { recursive: true });
  for (const file of await readdir(path.join(REPO, 'bin'))) await copyFile(path.join(REPO, 'bin', file), path.join(root, 'bin', file));
  await copyFile(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  await symlink(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  if (built)
    await promisify(execFile)(process.execPath, [TSC, '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist')], {
      cwd: REPO,
    });
  return path.join(root, 'bin/discord-file-splitter.js');
}

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: path.dirname(bin), timeout: 50_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('bin/discord-file-splitter.js', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDirForFile('dfs-bin-');
  });

  it('GIVEN --help THEN prints the usage and exits 0', async () => {
    const result = await run(await install(path.join(work, 'built'), true), ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/split <file> \[--chunk-size N\] \[--out DIR\]/);
  });

  it('GIVEN no dist/ THEN exits 1 telling to run npm run build', async () => {
    const result = await run(await install(path.join(work, 'bare'), false), ['--help']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/not built .*dist\/cli\/main\.js.*run `npm run build`/);
  });
});

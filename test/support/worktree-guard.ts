/**
 * vitest globalSetup: a test run leaves the working tree as it found it. Tests (and the demo)
 * keep their state under temp folders; one that writes the default progress file
 * (transfer_progress.json, shipped empty), its lock, ./files or any other new file in the
 * checkout would dirty it, so the run fails at teardown, naming what changed.
 *
 * Compared: transfer_progress.json's bytes, and every untracked or ignored entry git reports
 * (edits to tracked sources are left out: someone may be editing while the suite runs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_PROGRESS_FILE = 'transfer_progress.json';
/** What tools write while tests run, not tests: a coverage report. */
const TOOL_OUTPUT = new Set(['coverage/']);

function snapshot(): Set<string> {
  const state = new Set<string>();
  try {
    state.add(
      `${DEFAULT_PROGRESS_FILE} sha256 ${createHash('sha256')
        .update(readFileSync(path.join(REPO, DEFAULT_PROGRESS_FILE)))
        .digest('hex')}`,
    );
  } catch {
    state.add(`${DEFAULT_PROGRESS_FILE} absent`);
  }
  let status: string;
  try {
    status = execFileSync('git', ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignored=matching'], { cwd: REPO, encoding: 'utf8' });
  } catch {
    return state; // not a git checkout (or no git): the progress file is all there is to compare
  }
  for (const entry of status.split('\0')) {
    const [code, name] = [entry.slice(0, 2), entry.slice(3)];
    if ((code === '??' || code === '!!') && !TOOL_OUTPUT.has(name)) state.add(`${code === '??' ? 'untracked' : 'ignored'} ${name}`);
  }
  return state;
}

export default function setup(project: TestProject): (() => void) | undefined {
  // In watch mode the tree changes under the developer's hands; `vitest run` (npm test) is guarded.
  if (project.vitest.config.watch) return undefined;
  const before = snapshot();
  return () => {
    const after = snapshot();
    const changes = [
      ...[...before].filter((s) => !after.has(s)).map((s) => `- ${s}`),
      ...[...after].filter((s) => !before.has(s)).map((s) => `+ ${s}`),
    ];
    if (changes.length > 0) {
      throw new Error(
        `the test run changed the working tree (${REPO}):\n  ${changes.join('\n  ')}\n` +
          'Tests must keep files and progress state under a temp folder (test/support/temp.ts); remove or restore these by hand.',
      );
    }
  };
}

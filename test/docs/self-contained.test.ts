/**
 * The project explains itself: its code, tests, benchmark, scripts, page assets and top-level
 * documents point at README.md, TRANSFER_PROGRESS_FORMAT.md, CONTRIBUTING.md or BENCHMARKS.md,
 * never at a specification document the project does not ship (no reader could follow it).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['src', 'test', 'bench', 'scripts', 'public'];

// Spelled in pieces so that this file does not trip over its own pattern.
const WORD = ['SP', 'EC'].join('');
/** The word in capitals, a whole word (Discord's OpenAPI file has longer words that hold it). */
const REFERENCE = new RegExp(`\\b${WORD}\\b`);
/** The document's file name, in any case. */
const FILE_NAME = new RegExp(`\\b${WORD}\\.md\\b`, 'i');

function mentions(line: string): boolean {
  return REFERENCE.test(line) || FILE_NAME.test(line);
}

function inScope(file: string): boolean {
  return FOLDERS.some((folder) => file.startsWith(`${folder}/`)) || (!file.includes('/') && file.endsWith('.md'));
}

/** The files git tracks; outside a checkout, what is on disk in the same places. */
function projectFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      .split('\0')
      .filter((file) => file !== '' && inScope(file));
  } catch {
    const top = readdirSync(REPO).filter((name) => name.endsWith('.md'));
    const nested = FOLDERS.flatMap((folder) => {
      try {
        return readdirSync(path.join(REPO, folder), { recursive: true, encoding: 'utf8' }).map((name) => `${folder}/${name}`);
      } catch {
        return [];
      }
    });
    return [...top, ...nested].filter((file) => inScope(file) && !file.includes('node_modules'));
  }
}

describe('the project explains itself', () => {
  it('GIVEN the pattern THEN it finds a reference to the unshipped document and passes other words by', () => {
    expect(mentions(`see ${WORD} section 3`)).toBe(true);
    expect(mentions(`(${WORD}: within 5 s)`)).toBe(true);
    expect(mentions(`${WORD.toLowerCase()}.md, step 4`)).toBe(true);
    expect(mentions(`"title": "${WORD}TATE"`)).toBe(false);
    expect(mentions(`UN${WORD}IFIED`)).toBe(false);
    expect(mentions('const spec = JSON.parse(text)')).toBe(false);
  });

  it('GIVEN every tracked file under src/, test/, bench/, scripts/, public/ and the top-level documents THEN none points at a document the project does not ship', () => {
    const files = projectFiles();
    expect(files).toContain('src/bot.ts');
    expect(files).toContain('README.md');
    const found: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(path.join(REPO, file), 'utf8');
      } catch {
        continue; // a folder (outside a checkout) or a file deleted but not yet committed
      }
      text.split('\n').forEach((line, i) => {
        if (mentions(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found, 'point these at README.md, TRANSFER_PROGRESS_FORMAT.md, CONTRIBUTING.md or BENCHMARKS.md, or say the rule').toEqual([]);
  });
});

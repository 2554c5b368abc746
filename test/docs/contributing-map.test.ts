/**
 * CONTRIBUTING.md's "Where things live" is the map of the code: it names every file under
 * src/, bin/, scripts/, public/, bench/ and test/support/ (its top level) by its path from the
 * repository's root, in backticks (`src/web/routes/login.ts`), and names no such file that is
 * gone. A new file without its line, or a rename the map did not follow, fails here by name.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['src', 'bin', 'scripts', 'public', 'bench'];
/** Only this folder's own files: its subfolders (the fake Discord's parts) are described as a whole. */
const SHALLOW = 'test/support';

function mapped(file: string): boolean {
  if (FOLDERS.some((folder) => file.startsWith(`${folder}/`))) return true;
  return file.startsWith(`${SHALLOW}/`) && !file.slice(SHALLOW.length + 1).includes('/');
}

/** The files git tracks that the map must name; outside a checkout, what is on disk in the same places. */
function mappedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z', '--', ...FOLDERS, SHALLOW], { cwd: REPO, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      .split('\0')
      .filter((file) => file !== '' && mapped(file));
  } catch {
    return [...FOLDERS, SHALLOW].flatMap((folder) => {
      try {
        return readdirSync(path.join(REPO, folder), { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => path.relative(REPO, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
          .filter((file) => mapped(file) && !file.includes('node_modules') && !file.startsWith('bench/out/'));
      } catch {
        return [];
      }
    });
  }
}

/** Every code span of the document: `like this`. */
function codeSpans(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!.trim()));
}

/** A span that names one file of the mapped folders (not a folder, not a pattern). */
function namesMappedFile(span: string): boolean {
  return mapped(span) && /\.[a-z]+$/i.test(span) && !/[*\s]/.test(span);
}

describe("CONTRIBUTING.md's map", () => {
  const files = mappedFiles();
  const spans = codeSpans(readFileSync(path.join(REPO, 'CONTRIBUTING.md'), 'utf8'));

  it('GIVEN the rule THEN a file counts as named only by its whole path in backticks', () => {
    const sample = codeSpans('`src/web/routes/login.ts` and `routes/pages.ts` and login `src/web/events.ts` ');
    expect(sample.has('src/web/routes/login.ts')).toBe(true);
    expect(sample.has('src/web/routes/pages.ts')).toBe(false);
    expect(namesMappedFile('src/web/routes/login.ts')).toBe(true);
    expect(namesMappedFile('test/support/wait.ts')).toBe(true);
    expect(namesMappedFile('test/support/fake-discord/http.ts')).toBe(false);
    expect(namesMappedFile('src/web/')).toBe(false);
    expect(namesMappedFile('test/web/*.browser.test.ts')).toBe(false);
  });

  it('GIVEN every tracked file under src/, bin/, scripts/, public/, bench/ and test/support/ THEN CONTRIBUTING.md names each by its path', () => {
    expect(files).toContain('src/bot.ts');
    expect(files).toContain('test/support/bot-fixture.ts');
    const unnamed = files.filter((file) => !spans.has(file));
    expect(unnamed, "add a line for each to CONTRIBUTING.md's 'Where things live', in backticks, by its path from the root").toEqual([]);
  });

  it('GIVEN the files CONTRIBUTING.md names in those folders THEN each still exists', () => {
    const present = new Set(files);
    const gone = [...spans].filter((span) => namesMappedFile(span) && !present.has(span));
    expect(gone, 'a file the map names was moved or removed: follow it in CONTRIBUTING.md').toEqual([]);
  });
});

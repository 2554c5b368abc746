/** What a CLI command gets from the process (passed in so commands stay testable), and checks of its inputs. */
import { stat } from 'node:fs/promises';
import { parseManifest, type Manifest } from '../transfer/manifest.js';
import { CliFailure, errnoCode, messageOf } from '../errors.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM so work stops cleanly and temp files are removed. */
  signal: AbortSignal;
}

/** A readable regular file, or a CliFailure saying in one line why not. */
export async function statInputFile(file: string, { allowEmpty = false } = {}): Promise<{ size: number }> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliFailure(`no such file: ${file}`);
    throw new CliFailure(`cannot read ${file}: ${messageOf(err)}`);
  }
  if (info.isDirectory()) throw new CliFailure(`${file} is a directory`);
  if (!info.isFile()) throw new CliFailure(`${file} is not a regular file`);
  if (!allowEmpty && info.size === 0) throw new CliFailure(`${file} is empty`);
  return { size: info.size };
}

/** parseManifest with its first problems in one line, as a CliFailure naming `where`. */
export function parseManifestOrFail(json: unknown, where: string): Manifest {
  try {
    return parseManifest(json);
  } catch (err) {
    const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
    const detail = issues
      ? issues
          .slice(0, 3)
          .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
          .join('; ')
      : messageOf(err);
    throw new CliFailure(`bad manifest ${where}: ${detail}`);
  }
}

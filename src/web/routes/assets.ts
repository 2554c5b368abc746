/** The page's script and style (`public/`), read once at start: public, so the sign-in page can use them too. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { send } from '../http.js';
import type { Route } from './types.js';

const STATIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));
const STATIC_FILES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'send.js': 'text/javascript; charset=utf-8',
};
/** The tus reference client for the send page, as its package ships it: served from here so the CSP stays 'self'. */
const TUS_CLIENT = path.join(path.dirname(createRequire(import.meta.url).resolve('tus-js-client/package.json')), 'dist', 'tus.min.js');

export async function assetRoutes(): Promise<Route[]> {
  const files: [string, string, string][] = [
    ...Object.entries(STATIC_FILES).map(([file, type]): [string, string, string] => [file, type, STATIC_DIR + file]),
    ['tus.min.js', 'text/javascript; charset=utf-8', TUS_CLIENT],
  ];
  return Promise.all(
    files.map(async ([file, type, from]): Promise<Route> => {
      const body = await readFile(from);
      return { method: ['GET', 'HEAD'], path: `/static/${file}`, public: true, handle: ({ res }) => send(res, 200, type, body) };
    }),
  );
}

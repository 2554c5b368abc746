/** The page's script and style (`public/`), read once at start: public, so the sign-in page can use them too. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { send } from '../http.js';
import type { Route } from './types.js';

const STATIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));
const STATIC_FILES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

export async function assetRoutes(): Promise<Route[]> {
  return Promise.all(
    Object.entries(STATIC_FILES).map(async ([file, type]): Promise<Route> => {
      const body = await readFile(STATIC_DIR + file);
      return { method: ['GET', 'HEAD'], path: `/static/${file}`, public: true, handle: ({ res }) => send(res, 200, type, body) };
    }),
  );
}

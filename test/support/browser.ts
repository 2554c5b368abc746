/**
 * A real headless Chromium for the web page's tests, driven by playwright-core (which needs
 * no browser download: it starts the system's). Debian's package `chromium-headless-shell`
 * installs /usr/bin/chromium-headless-shell (`.ci/run` installs it). Without one, the browser
 * tests are skipped saying so, except under CI=true, where a missing browser fails them.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].filter((p): p is string => Boolean(p));

const BROWSER_PATH = CANDIDATES.find((p) => existsSync(p)) ?? null;

/** Why the browser tests cannot run here, or null when they can. Throws under CI=true: there, a missing browser is a failure. */
export function browserSkipReason(): string | null {
  if (BROWSER_PATH) return null;
  const reason = `no Chromium found (${CANDIDATES.join(', ')}): install the Debian package chromium-headless-shell, or set CHROMIUM_PATH`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: BROWSER_PATH!,
    // As root in a sandbox-less container, and with a closed network: no background requests.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Where screenshots go: outside the checkout (the working-tree guard fails a run that leaves files there). */
export async function artifactsDir(): Promise<string> {
  const dir = process.env.DFS_TEST_ARTIFACTS ?? path.join(os.tmpdir(), 'dfs-test-artifacts');
  await mkdir(dir, { recursive: true });
  return dir;
}

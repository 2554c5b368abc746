/** A web page that cannot listen stops the bot before it connects, closing what had started (README, 'The web page'). */
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBotProcess } from '../support/bot-process.js';
import { freePort } from '../support/ports.js';
import { tempDir } from '../support/temp.js';

describe('web port taken', () => {
  it('GIVEN WEB_PORT already in use THEN the bot stops before connecting, exit 1 naming WEB_PORT, every part closed cleanly and the lock released', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const work = await tempDir();
      const bot = await startBotProcess({
        cwd: work,
        waitReady: false,
        // Nothing listens at this API URL: the bot must stop before it would need one.
        env: {
          DISCORD_TOKEN: 'token-never-used-0000',
          DISCORD_API_URL: 'http://127.0.0.1:9/api',
          PROGRESS_FILE_PATH: path.join(work, 'p.json'),
          METRICS_PORT: String(await freePort()),
          WEB_PORT: String(port),
          WEB_HOST: '127.0.0.1',
          WEB_SECRET: 'test-web-secret-0123456789abcdefghij',
        },
      });
      const exit = await bot.exited;
      expect(exit.code).toBe(1);
      expect(bot.stderr()).toMatch(new RegExp(`^error: WEB_PORT ${port}: cannot listen on 127\\.0\\.0\\.1 .*EADDRINUSE`, 'm'));
      expect(bot.logs.filter((l) => l.msg === 'shutdown step failed')).toEqual([]);
      expect(await readdir(work)).not.toContain('p.lock');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

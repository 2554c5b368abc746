/** The /upload download limits in the configuration: their defaults and what is refused. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('URL download limits in the configuration', () => {
  it('GIVEN none of the keys THEN the documented defaults apply', () => {
    const config = loadConfig({});
    expect([config.URL_HEADERS_TIMEOUT_MS, config.URL_MIN_BYTES_PER_SECOND, config.URL_LOW_SPEED_WINDOW_MS]).toEqual([30_000, 1024, 60_000]);
  });

  it('GIVEN values THEN they are read as numbers', () => {
    const config = loadConfig({ URL_HEADERS_TIMEOUT_MS: '5000', URL_MIN_BYTES_PER_SECOND: '4096', URL_LOW_SPEED_WINDOW_MS: '10000' });
    expect([config.URL_HEADERS_TIMEOUT_MS, config.URL_MIN_BYTES_PER_SECOND, config.URL_LOW_SPEED_WINDOW_MS]).toEqual([5000, 4096, 10_000]);
  });

  it('GIVEN a minimum speed of 0 and windows that are not whole numbers THEN one ConfigError names every key', () => {
    const error = (() => {
      try {
        loadConfig({ URL_HEADERS_TIMEOUT_MS: '1.5', URL_MIN_BYTES_PER_SECOND: '0', URL_LOW_SPEED_WINDOW_MS: 'soon' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['URL_HEADERS_TIMEOUT_MS', 'URL_MIN_BYTES_PER_SECOND', 'URL_LOW_SPEED_WINDOW_MS']) expect(problems).toContain(key);
  });
});

/** The logger's scrubbing with LOG_REDACT_FILENAMES: registered names never reach a line, in any form or field. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, LogRedactions, logName, sourceNames, urlNames } from '../../src/log.js';

function capture(redactions: LogRedactions) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', secrets: ['a-secret-token-value'], redactions, destination });
  return { log, lines, text: () => lines.join('') };
}

describe('LogRedactions', () => {
  it('GIVEN registered paths THEN an error message, its stack, err.path and a note all show the hash instead', () => {
    const redactions = new LogRedactions(true);
    redactions.add(...sourceNames({ kind: 'file', path: 'dir/report.pdf', real_path: '/srv/files/dir/report.pdf' }), '/srv/files');
    const { log, text } = capture(redactions);
    const error = Object.assign(new Error("ENOENT: no such file or directory, open '/srv/files/dir/report.pdf'"), {
      path: '/srv/files/dir/report.pdf',
    });
    log.error({ err: error, reason: 'source changed: dir/report.pdf: size 1 → 2 bytes', files_root: '/srv/files' }, 'failed on report.pdf');
    expect(text()).not.toMatch(/report|\/srv\/files/);
    expect(text()).toContain(logName('/srv/files/dir/report.pdf', true));
    expect(text()).toContain(logName('dir/report.pdf', true));
    // Every line is still one JSON object with its keys intact.
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(expect.arrayContaining(['err', 'reason', 'files_root', 'msg']));
  });

  it('GIVEN a name that JSON escapes (quotes, backslash) THEN its escaped form is replaced too', () => {
    const redactions = new LogRedactions(true);
    redactions.add('my "quoted" \\ file.bin');
    const { log, text } = capture(redactions);
    log.info({ note: 'could not read my "quoted" \\ file.bin' }, 'x');
    expect(text()).not.toContain('quoted');
    expect(text()).toContain(logName('my "quoted" \\ file.bin', true));
  });

  it('GIVEN a URL THEN its host, path, decoded path, base name and query are all replaced', () => {
    const redactions = new LogRedactions(true);
    redactions.add(...urlNames('https://cdn.example.org/some%20dir/movie%20night.mkv?sig=s3cr3t'));
    const { log, text } = capture(redactions);
    log.warn(
      {
        a: 'GET https://cdn.example.org/some%20dir/movie%20night.mkv?sig=s3cr3t',
        b: 'cdn.example.org:443',
        c: '/some dir/movie night.mkv',
        d: 'sig=s3cr3t',
      },
      'x',
    );
    expect(text()).not.toMatch(/example|movie|some|s3cr3t/);
  });

  it('GIVEN a name field that was never registered THEN it is hashed anyway, and the token is still redacted', () => {
    const { log, text } = capture(new LogRedactions(true));
    log.info({ file_name: 'unregistered.iso', token: 'a-secret-token-value' }, 'x');
    expect(text()).not.toContain('unregistered.iso');
    expect(text()).toContain(logName('unregistered.iso', true));
    expect(text()).not.toContain('a-secret-token-value');
  });

  it('GIVEN redaction off THEN registering keeps nothing and names are logged as they are', () => {
    const redactions = new LogRedactions(false);
    redactions.add('report.pdf');
    const { log, text } = capture(redactions);
    log.info({ file_name: 'report.pdf' }, 'sent report.pdf');
    expect(text().match(/report\.pdf/g)).toHaveLength(2);
  });
});

/** TRANSFER_PROGRESS_FORMAT.md stays true to the schema: its example loads, every field is described. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { parseProgressText } from '../../src/store/parse.js';
import { serialize } from '../../src/store/serialize.js';
import {
  encryptionSchema,
  fileSourceSchema,
  partRecordSchema,
  progressFileSchema,
  threadRecordSchema,
  transferSchema,
  urlSourceSchema,
} from '../../src/store/schema.js';

const DOC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'TRANSFER_PROGRESS_FORMAT.md');

test('GIVEN the example in TRANSFER_PROGRESS_FORMAT.md THEN it passes the schema', async () => {
  const doc = await readFile(DOC, 'utf8');
  const example = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
  expect(example).toBeDefined();
  const data = parseProgressText(DOC, example!);
  expect(data.active_transfers.map((t) => t.source.kind)).toEqual(['file', 'url']);
  // ...and it is laid out exactly as the bot writes the file.
  const raw = JSON.parse(example!) as typeof data;
  expect(`${example!}\n`).toBe(serialize({ top: raw, records: new Map(raw.active_transfers.map((t) => [t.id, t])) }));
});

test.each([
  ['top level', progressFileSchema],
  ['transfer', transferSchema],
  ['file source', fileSourceSchema],
  ['url source', urlSourceSchema],
  ['part record', partRecordSchema],
  ['encryption', encryptionSchema],
  ['thread', threadRecordSchema],
] as const)('GIVEN the %s schema THEN every field has a row in TRANSFER_PROGRESS_FORMAT.md', async (_name, schema) => {
  const doc = await readFile(DOC, 'utf8');
  const undocumented = Object.keys(schema.shape).filter((field) => !doc.includes(`| \`${field}\` |`));
  expect(undocumented).toEqual([]);
});

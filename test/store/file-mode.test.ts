/**
 * The progress file's mode (src/store/durable.ts): a new file is its owner's alone; an existing
 * one keeps the mode its operator gave it, except while a record holds an encrypted
 * transfer's file key, when group and others lose every permission.
 */
import { chmod, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { makeTempDir, sampleTransfer } from './helpers.js';

const encryption = {
  format: 'age-encryption.org/v1' as const,
  recipients: ['age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq'],
  plaintext_size: 23_999_800,
  file_key: 'AAAAAAAAAAAAAAAAAAAAAA==',
  payload_nonce: 'AAAAAAAAAAAAAAAAAAAAAA==',
  header: 'YWdlLWVuY3J5cHRpb24ub3JnL3Yx',
};

describe('the progress file mode', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let file: string;
  let store: FileStore | undefined;
  beforeEach(async () => {
    tmp = await makeTempDir();
    file = path.join(tmp.dir, 'transfer_progress.json');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await tmp.cleanup();
  });
  const mode = async () => (await stat(file)).mode & 0o777;

  test('GIVEN no file THEN the store creates it 0600', async () => {
    store = await FileStore.open(file);
    await store.create(sampleTransfer('upload_plain1'));
    expect(await mode()).toBe(0o600);
  });

  test('GIVEN an operator made the file 0644 THEN plain transfers keep it 0644', async () => {
    await writeFile(file, JSON.stringify({ schema_version: 1, active_transfers: [] }));
    await chmod(file, 0o644);
    store = await FileStore.open(file);
    await store.create(sampleTransfer('upload_plain2'));
    await store.setStatus('upload_plain2', 'in_progress');
    expect(await mode()).toBe(0o644);
  });

  test('GIVEN an operator made the file 0664 WHEN an encrypted transfer is recorded THEN the write that holds its key is 0600, and it stays so after the key is erased', async () => {
    await writeFile(file, JSON.stringify({ schema_version: 1, active_transfers: [] }));
    await chmod(file, 0o664);
    store = await FileStore.open(file);
    await store.create(sampleTransfer('upload_plain3'));
    expect(await mode()).toBe(0o664);
    await store.create(sampleTransfer('upload_secret', { file_name: 'movie.mkv.age', encryption }));
    expect(await mode()).toBe(0o600);
    await store.setStatus('upload_secret', 'cancelled');
    expect(store.get('upload_secret')?.encryption?.file_key).toBeNull();
    expect(await mode()).toBe(0o600);
  });
});

// The filesystem media store on a real directory: atomic, content-addressed, deduplicated, and
// leaving nothing behind when a body fails part-way.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaStore } from '../../domain/ports/index.ts';
import { createFsMediaStore } from './fsMediaStore.ts';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield part;
}

const read = async (store: MediaStore, sha: string): Promise<Buffer> => {
  const blob = await store.get(sha);
  if (blob === undefined) throw new Error(`no blob ${sha}`);
  const parts: Uint8Array[] = [];
  for await (const part of blob.read()) parts.push(part);
  return Buffer.concat(parts);
};

const files = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));

describe('FsMediaStore', () => {
  let root: string;
  let store: MediaStore;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'strata-media-store-'));
    store = await createFsMediaStore(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('stores bytes under their SHA-256 and reads them back', async () => {
    const bytes = randomBytes(100_000);
    const stored = await store.put(chunks(bytes.subarray(0, 10), bytes.subarray(10)));
    expect(stored).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect((await read(store, stored.sha256)).equals(bytes)).toBe(true);
    expect((await store.get(stored.sha256))?.size).toBe(bytes.length);
    expect(await files(path.join(root, 'sha256'))).toContain(path.join(root, 'sha256', stored.sha256.slice(0, 2), stored.sha256.slice(2, 4), stored.sha256));
  });

  it('keeps one copy of identical bytes, even put concurrently', async () => {
    const bytes = randomBytes(50_000);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => store.put(chunks(bytes))));
    expect(new Set(results.map((result) => result.sha256)).size).toBe(1);
    expect((await files(path.join(root, 'sha256'))).filter((file) => path.basename(file) === sha256(bytes))).toHaveLength(1);
    expect(await files(path.join(root, 'tmp'))).toEqual([]);
  });

  it('stores an empty body', async () => {
    const stored = await store.put(chunks());
    expect(stored.size).toBe(0);
    expect((await read(store, stored.sha256)).length).toBe(0);
  });

  it('leaves no file when the body fails part-way', async () => {
    const before = await files(path.join(root, 'sha256'));
    async function* failing(): AsyncIterable<Uint8Array> {
      yield randomBytes(1000);
      throw new Error('client went away');
    }
    await expect(store.put(failing())).rejects.toThrow('client went away');
    expect(await files(path.join(root, 'tmp'))).toEqual([]);
    expect(await files(path.join(root, 'sha256'))).toEqual(before);
  });

  it('deletes blobs, absent ones included, and refuses names that are not hashes', async () => {
    const stored = await store.put(chunks(Buffer.from('to delete')));
    await store.delete(stored.sha256);
    expect(await store.get(stored.sha256)).toBeUndefined();
    await store.delete(stored.sha256);
    await expect(store.get('../../etc/passwd')).rejects.toThrow('not a SHA-256');
  });
});

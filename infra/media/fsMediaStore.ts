/**
 * The filesystem MediaStore: blobs under `<root>/sha256/<aa>/<bb>/<hash>`, named by the SHA-256 of
 * their bytes. A put streams into `<root>/tmp/` while hashing, fsyncs, then renames into place, so a
 * blob is never seen half-written; a put that fails (client gone, over the size limit) removes its
 * temporary file. Identical uploads, even concurrent ones, end as one file: the rename of the same
 * bytes onto the same name is idempotent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { MediaBlob, MediaStore, Sha256Hex, StoredBlob } from '../../domain/ports/index.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const createFsMediaStore = async (root: string): Promise<MediaStore> => {
  const tmpDir = path.join(root, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  // Temporary files of a process that died mid-upload: nobody else writes here.
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });

  const blobPath = (sha256: Sha256Hex): string => {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return path.join(root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  };

  return {
    async put(body): Promise<StoredBlob> {
      const tmp = path.join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
      const hash = createHash('sha256');
      let size = 0;
      const file = await open(tmp, 'wx');
      try {
        try {
          for await (const chunk of body) {
            hash.update(chunk);
            size += chunk.length;
            await file.write(chunk);
          }
          await file.sync();
        } finally {
          await file.close();
        }
        const sha256 = hash.digest('hex');
        const target = blobPath(sha256);
        await mkdir(path.dirname(target), { recursive: true });
        await rename(tmp, target);
        return { sha256, size };
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async get(sha256): Promise<MediaBlob | undefined> {
      const file = blobPath(sha256);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      return { size, read: () => createReadStream(file) };
    },
    async delete(sha256): Promise<void> {
      try {
        await unlink(blobPath(sha256));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    },
  };
};

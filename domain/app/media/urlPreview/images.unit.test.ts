import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../../errors.ts';
import type { UploadRequest } from '../media.ts';
import { mediaPreviewImages } from './images.ts';

const collect = async (body: AsyncIterable<Uint8Array>): Promise<number[]> => {
  const bytes: number[] = [];
  for await (const chunk of body) bytes.push(...chunk);
  return bytes;
};

describe('mediaPreviewImages', () => {
  it("uploads the image as the user's media and answers its URI with the probed dimensions", async () => {
    const uploads: { request: UploadRequest; bytes: number[] }[] = [];
    const images = mediaPreviewImages(
      { upload: async (request) => {
        uploads.push({ request, bytes: await collect(request.body) });
        return { contentUri: 'mxc://strata.test/abc' };
      } },
      { probe: async () => ({ width: 10, height: 20, animated: false }) },
    );
    expect(await images.storeImage({ userId: '@a:strata.test', mediaType: 'image/png', fileName: 'a.png', bytes: new Uint8Array([1, 2, 3]) }))
      .toEqual({ contentUri: 'mxc://strata.test/abc', width: 10, height: 20 });
    expect(uploads).toEqual([{ request: expect.objectContaining({ uploader: '@a:strata.test', contentType: 'image/png', uploadName: 'a.png', declaredLength: 3 }), bytes: [1, 2, 3] }]);
  });

  it('keeps an image the codec cannot read, without dimensions', async () => {
    const images = mediaPreviewImages({ upload: async () => ({ contentUri: 'mxc://strata.test/x' }) }, { probe: async () => { throw new Error('undecodable'); } });
    expect(await images.storeImage({ userId: '@a:x', mediaType: 'image/png', bytes: new Uint8Array([0]) })).toEqual({ contentUri: 'mxc://strata.test/x' });
  });

  it('answers nothing when the upload is refused (over max_upload_size)', async () => {
    const images = mediaPreviewImages(
      { upload: async () => { throw new MatrixError('M_TOO_LARGE', 413, 'too large'); } },
      { probe: async () => ({ width: 1, height: 1, animated: false }) },
    );
    expect(await images.storeImage({ userId: '@a:x', mediaType: 'image/png', bytes: new Uint8Array([0]) })).toBeUndefined();
  });
});

/**
 * Previewed images kept as local media of the requesting user, through the content repository's
 * own upload (its size limit, deduplication and thumbnails apply), as Synapse keeps them in its
 * media repository; the dimensions come from the image codec, after EXIF orientation.
 */
import type { Thumbnailer } from '../../../ports/thumbnails.ts';
import type { UrlPreviewImageStore } from '../../../ports/urlPreview.ts';
import type { Media } from '../media.ts';

export const mediaPreviewImages = (media: Pick<Media, 'upload'>, thumbnailer: Pick<Thumbnailer, 'probe'>): UrlPreviewImageStore => ({
  async storeImage({ userId, mediaType, fileName, bytes }) {
    let uploaded: { readonly contentUri: string };
    try {
      uploaded = await media.upload({
        uploader: userId,
        body: (async function* () {
          yield bytes;
        })(),
        declaredLength: bytes.length,
        contentType: mediaType,
        ...(fileName === undefined ? {} : { uploadName: fileName }),
      });
    } catch {
      // Over max_upload_size or refused: the preview goes on without its image.
      return undefined;
    }
    // An image the codec cannot read is kept all the same, without dimensions (as Synapse).
    const probe = await thumbnailer.probe(bytes).catch(() => undefined);
    return { contentUri: uploaded.contentUri, ...(probe === undefined ? {} : { width: probe.width, height: probe.height }) };
  },
});

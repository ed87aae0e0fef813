/**
 * The Thumbnailer port on sharp (libvips). Only JPEG, PNG, GIF and WebP are opened, whatever else
 * libvips could decode (Synapse's PILLOW_FORMATS: every decoder allowed is attack surface), and an
 * image with more pixels than `maxImagePixels` is refused from its header, before any decoding.
 */
import sharp from 'sharp';
import { ThumbnailError, type ImageProbe, type RenderedThumbnail, type ThumbnailSpec, type Thumbnailer } from '../../domain/ports/index.ts';

const OPENED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'gif', 'webp']);

/** Synapse encodes its JPEG and PNG thumbnails at quality 80. */
const QUALITY = 80;

export interface SharpThumbnailerOptions {
  /** Synapse's `max_image_pixels`: width × height (× frames for an animation) above which an image is refused. */
  readonly maxImagePixels: number;
}

const undecodable = (error: unknown): ThumbnailError =>
  error instanceof ThumbnailError ? error : new ThumbnailError('undecodable', `cannot decode the image: ${(error as Error).message}`);

export const createSharpThumbnailer = (options: SharpThumbnailerOptions): Thumbnailer => {
  const { maxImagePixels } = options;
  // libvips caches decoded images and operations by default; a server thumbnails each image once.
  sharp.cache(false);

  const probe = async (image: Uint8Array): Promise<ImageProbe> => {
    const metadata = await sharp(image, { limitInputPixels: false }).metadata().catch((error: unknown) => {
      throw undecodable(error);
    });
    if (!OPENED_FORMATS.has(metadata.format)) throw new ThumbnailError('undecodable', `${metadata.format} images are not thumbnailed`);
    const pages = metadata.pages ?? 1;
    if (metadata.width * metadata.height * pages > maxImagePixels) {
      throw new ThumbnailError('too_large', `${metadata.width}×${metadata.height}×${pages} pixels exceed ${maxImagePixels}`);
    }
    const { width, height } = metadata.autoOrient;
    return { width, height, animated: pages > 1 };
  };

  return {
    probe,
    async render(image: Uint8Array, spec: ThumbnailSpec): Promise<RenderedThumbnail> {
      const source = await probe(image);
      const animated = spec.animated && source.animated;
      try {
        // failOn 'error' refuses truncated data rather than rendering the grey remainder libvips fills in.
        let pipeline = sharp(image, { limitInputPixels: maxImagePixels, animated, failOn: 'error' })
          .autoOrient()
          .resize(spec.width, spec.height, { fit: spec.method === 'crop' ? 'cover' : 'fill', position: 'centre' });
        if (animated) pipeline = pipeline.webp({ quality: QUALITY });
        else if (spec.contentType === 'image/jpeg') pipeline = pipeline.flatten().jpeg({ quality: QUALITY });
        else pipeline = pipeline.png();
        const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
        return {
          bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          width: info.width,
          height: animated ? (info.pageHeight ?? info.height) : info.height,
          contentType: animated ? 'image/webp' : spec.contentType === 'image/jpeg' ? 'image/jpeg' : 'image/png',
        };
      } catch (error) {
        throw undecodable(error);
      }
    },
  };
};

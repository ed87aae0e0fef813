/** The content repository's use-cases (public surface). */
export { createMedia, DEFAULT_DOWNLOAD_TIMEOUT_MS, isMediaId, MAX_DOWNLOAD_TIMEOUT_MS, type Download, type DownloadRequest, type Media, type UploadRequest } from './media.ts';
export { createMediaAdmin, type MediaAdmin } from './admin.ts';
export { DEFAULT_MAX_UPLOAD_SIZE, MAX_PENDING_UPLOADS, UNUSED_EXPIRATION_MS, type MediaContext, type MediaDerivatives } from './context.ts';
export {
  createThumbnails, mediaStoreThumbnailBlobs, readWhole, thumbnailDerivatives,
  type ThumbnailAnswer, type ThumbnailBlobs, type ThumbnailedMedia, type ThumbnailRequest, type Thumbnails, type ThumbnailsDependencies,
} from './thumbnails.ts';
export { DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_THUMBNAIL_SIZES, type ThumbnailSize } from './thumbnailsPlan.ts';

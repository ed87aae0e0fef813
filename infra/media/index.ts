/** Adapters of the content repository's ports (domain/ports/media.ts). */
export { createFsMediaStore } from './fsMediaStore.ts';
export { createSqlMediaRepository, ensureMediaSchema } from './sqlMediaRepository.ts';
export { createFederationRemoteMedia } from './remoteMedia.ts';
export { createSharpThumbnailer, type SharpThumbnailerOptions } from './thumbnails.ts';
export { createSqlThumbnailStore, ensureMediaThumbnailsSchema } from './thumbnailsStore.ts';
export { startContentRepository, type ContentRepository, type ContentRepositoryOptions } from './contentRepository.ts';

/**
 * The content repository wired for the composition root (infra/strata.ts): blobs by SHA-256 under
 * the data directory, metadata in the database, thumbnails made at upload and on request, other
 * servers' media fetched over federation, URL previews when enabled, and the sweeps that expire
 * lapsed uploads and old previews. Each sweep registers its stop with the lifecycle.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import {
  createMedia, createMediaAdmin, createThumbnails, mediaStoreThumbnailBlobs, thumbnailDerivatives, type Media, type MediaAdmin, type Thumbnails,
} from '../../domain/app/media/index.ts';
import { createUrlPreviews, mediaPreviewImages, type UrlPreviews } from '../../domain/app/media/urlPreview/index.ts';
import type { StrataConfig } from '../config/index.ts';
import type { FederationClient } from '../federation/client/index.ts';
import type { ServerLifecycle } from '../server/index.ts';
import { cryptoRandom, systemClock } from '../stores/index.ts';
import type { SqlDatabase } from '../../domain/index.ts';
import { createFsMediaStore } from './fsMediaStore.ts';
import { createFederationRemoteMedia } from './remoteMedia.ts';
import { createSqlMediaRepository } from './sqlMediaRepository.ts';
import { createSharpThumbnailer } from './thumbnails.ts';
import { createSqlThumbnailStore, ensureMediaThumbnailsSchema } from './thumbnailsStore.ts';
import { createSqlUrlPreviewCache, createUrlPreviewFetcher } from './urlPreview/index.ts';

/** How often lapsed asynchronous media uploads are swept. */
const MEDIA_SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** How often expired URL previews are swept. */
const URL_PREVIEW_SWEEP_INTERVAL_MS = 60 * 1000;

export interface ContentRepositoryOptions {
  readonly config: Pick<StrataConfig, 'dataDir' | 'serverName' | 'maxImagePixels' | 'thumbnailSizes' | 'maxUploadSize' | 'urlPreview'>;
  readonly db: SqlDatabase;
  readonly federationClient: FederationClient;
  readonly isAdmin: (userId: string) => Promise<boolean>;
  readonly logger: Logger;
  readonly lifecycle: Pick<ServerLifecycle, 'onStop'>;
}

export interface ContentRepository {
  readonly media: Media;
  readonly mediaAdmin: MediaAdmin;
  readonly thumbnails: Thumbnails;
  /** Absent unless `url_preview_enabled`. */
  readonly urlPreviews?: UrlPreviews;
}

const every = (lifecycle: ContentRepositoryOptions['lifecycle'], name: string, intervalMs: number, task: () => void): void => {
  const timer = setInterval(task, intervalMs);
  timer.unref();
  lifecycle.onStop(name, async () => clearInterval(timer));
};

export const startContentRepository = async (options: ContentRepositoryOptions): Promise<ContentRepository> => {
  const { config, db, logger, lifecycle } = options;
  const mediaStore = await createFsMediaStore(path.resolve(config.dataDir, 'media'));
  const mediaRepository = await createSqlMediaRepository(db);
  // Thumbnails: their bytes beside the originals, made at upload in the configured sizes, others when asked.
  await ensureMediaThumbnailsSchema(db);
  const thumbnailStore = createSqlThumbnailStore(db);
  const thumbnailer = createSharpThumbnailer({ maxImagePixels: config.maxImagePixels });
  const thumbnails = createThumbnails({
    thumbnailer,
    store: thumbnailStore,
    blobs: mediaStoreThumbnailBlobs(mediaStore, mediaRepository, thumbnailStore),
    now: () => systemClock.now(),
    sizes: config.thumbnailSizes,
  });
  const mediaContext = {
    serverName: config.serverName,
    store: mediaStore,
    repository: mediaRepository,
    // Other servers' media, fetched over federation on a client's first download and kept.
    remote: createFederationRemoteMedia(options.federationClient),
    derivatives: thumbnailDerivatives(thumbnails, mediaStore, (error, { serverName, mediaId }) =>
      logger.warn({ err: error, server_name: serverName, media_id: mediaId }, 'making thumbnails at upload failed')),
    clock: systemClock,
    random: cryptoRandom,
    maxUploadSize: config.maxUploadSize,
    isAdmin: options.isAdmin,
  };
  const media = createMedia(mediaContext);
  // Asynchronous uploads whose content never came lapse (Synapse sweeps them the same way).
  every(lifecycle, 'media sweep', MEDIA_SWEEP_INTERVAL_MS, () => {
    media.sweepLapsedUploads().catch((error: unknown) => logger.warn({ err: error }, 'sweeping lapsed media uploads failed'));
  });
  if (!config.urlPreview.enabled) return { media, mediaAdmin: createMediaAdmin(mediaContext), thumbnails };

  // URL previews: pages fetched under their own IP policy, kept in the database with their history
  // until they expire (swept as Synapse's url cache).
  const urlPreviewCache = await createSqlUrlPreviewCache(db);
  every(lifecycle, 'URL preview sweep', URL_PREVIEW_SWEEP_INTERVAL_MS, () => {
    urlPreviewCache.forgetExpired(systemClock.now()).catch((error: unknown) => logger.warn({ err: error }, 'sweeping expired URL previews failed'));
  });
  const urlPreviews = createUrlPreviews({
    fetcher: createUrlPreviewFetcher({
      ...(config.urlPreview.ipRangeBlacklist === undefined ? {} : { ipRangeBlacklist: config.urlPreview.ipRangeBlacklist }),
      ipRangeWhitelist: config.urlPreview.ipRangeWhitelist,
      maxBytes: config.urlPreview.maxSpiderSize,
      acceptLanguage: config.urlPreview.acceptLanguage,
    }),
    // A previewed image becomes the requester's media, as Synapse's url cache media.
    images: mediaPreviewImages(media, thumbnailer),
    store: urlPreviewCache,
    clock: systemClock,
    urlBlacklist: config.urlPreview.urlBlacklist,
  });
  return { media, mediaAdmin: createMediaAdmin(mediaContext), thumbnails, urlPreviews };
};

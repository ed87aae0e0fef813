import type { Clock, MediaContent, MediaRepository, MediaStore, Random, RemoteMedia } from '../../ports/index.ts';

/** Synapse's defaults (`max_upload_size`, `unused_expiration_time`, `max_pending_media_uploads`). */
export const DEFAULT_MAX_UPLOAD_SIZE = 50 * 1024 * 1024;
export const UNUSED_EXPIRATION_MS = 24 * 60 * 60 * 1000;
export const MAX_PENDING_UPLOADS = 5;

export interface MediaContext {
  /** Media with this server name is ours; any other is remote. */
  readonly serverName: string;
  readonly store: MediaStore;
  readonly repository: MediaRepository;
  readonly clock: Clock;
  readonly random: Random;
  /** Largest upload in bytes, advertised as `m.upload.size`. */
  readonly maxUploadSize: number;
  /** Other servers' media, fetched over federation and kept; absent: only media held here is served. */
  readonly remote?: RemoteMedia;
  /** What is derived from stored media (thumbnails): told when content arrives and when media goes. */
  readonly derivatives?: MediaDerivatives;
  /** Whether a user is a server administrator (for the admin API). */
  isAdmin(userId: string): Promise<boolean>;
}

/**
 * Derived data kept beside media. `stored` runs before the upload is answered (as Synapse makes
 * its thumbnails), and must not fail the upload: the caller's adapter reports its own failures.
 */
export interface MediaDerivatives {
  stored(media: { readonly serverName: string; readonly mediaId: string; readonly content: MediaContent }): Promise<void>;
  deleted(serverName: string, mediaId: string): Promise<void>;
}

/**
 * The content repository's ports (client-server-api § Content repository): blob storage, addressed
 * by content, and the metadata of each media id. Blobs and metadata are apart so that one blob
 * serves every media id with the same bytes, and so that an object store (S3 and kin) can replace
 * the filesystem adapter without touching the metadata.
 */

/** A blob's address: the lowercase hex SHA-256 of its bytes. */
export type Sha256Hex = string;

export interface StoredBlob {
  readonly sha256: Sha256Hex;
  readonly size: number;
}

export interface MediaBlob {
  readonly size: number;
  /** The bytes, read from the start; each call opens a fresh read. */
  read(): AsyncIterable<Uint8Array>;
}

/**
 * Content-addressed blob storage. `put` is atomic: a blob is visible under its hash only once
 * fully and durably written, and a failed or abandoned put (the body threw part-way) leaves
 * nothing behind. Putting bytes already stored keeps one copy.
 */
export interface MediaStore {
  put(body: AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /** The blob, or undefined when none is stored under that hash. */
  get(sha256: Sha256Hex): Promise<MediaBlob | undefined>;
  /** Removes the blob; removing one that is absent is not an error. */
  delete(sha256: Sha256Hex): Promise<void>;
}

/** What an uploaded media id holds once its content arrived. */
export interface MediaContent {
  readonly contentType: string;
  readonly size: number;
  /** The `filename` the uploader gave, if any. */
  readonly uploadName?: string;
  readonly sha256: Sha256Hex;
}

export interface MediaRecord {
  readonly serverName: string;
  readonly mediaId: string;
  /** The local user who created it; undefined for media cached from another server. */
  readonly uploader?: string;
  readonly createdTs: number;
  readonly lastAccessTs?: number;
  /** The administrator who quarantined it; quarantined media is served to nobody. */
  readonly quarantinedBy?: string;
  /**
   * Whether it is served only through the authenticated endpoints (`/_matrix/client/v1/media`).
   * Media stored before the switch to authenticated media keeps false, and stays reachable on
   * the legacy `/_matrix/media/v3` downloads (Synapse's `enable_authenticated_media`).
   */
  readonly authenticated: boolean;
  /** Undefined while an asynchronous upload waits for its content. */
  readonly content?: MediaContent;
  /** For a pending asynchronous upload: when the media id lapses unless its content arrives. */
  readonly unusedExpiresAt?: number;
}

/** Media another server holds, as it answered for it. */
export interface RemoteMediaContent {
  readonly contentType: string;
  readonly uploadName?: string;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Other servers' media (server-server-api § Content repository). Rejects with a MatrixError a
 * client can be given: 404 M_NOT_FOUND when the server has no such media, 502 M_TOO_LARGE when
 * it is over `maxBytes`, 502 when the server could not be asked or answered nonsense.
 */
export interface RemoteMedia {
  download(serverName: string, mediaId: string, options: { readonly maxBytes: number; readonly timeoutMs: number }): Promise<RemoteMediaContent>;
}

export interface MediaListQuery {
  readonly from: number;
  readonly limit: number;
  readonly orderBy: 'media_id' | 'upload_name' | 'created_ts' | 'last_access_ts' | 'media_length' | 'media_type' | 'quarantined_by';
  readonly direction: 'f' | 'b';
}

/** Media metadata. Every media id is unique per server name. */
export interface MediaRepository {
  /** Stores a new record; false when the media id is taken. */
  insert(record: MediaRecord): Promise<boolean>;
  get(serverName: string, mediaId: string): Promise<MediaRecord | undefined>;
  /**
   * Gives a pending media id its content, only if it is still pending and not expired at `now`:
   * true when it did, false when the content was already there (or the id lapsed).
   */
  complete(serverName: string, mediaId: string, content: MediaContent, now: number): Promise<boolean>;
  /** How many pending uploads of a user have not lapsed at `now`, and when the first of them lapses. */
  pendingUploads(uploader: string, now: number): Promise<{ readonly count: number; readonly firstExpiresAt?: number }>;
  recordAccess(serverName: string, mediaId: string, at: number): Promise<void>;
  /** Sets (a user id) or clears (undefined) the quarantine; false when there is no such media. */
  setQuarantine(serverName: string, mediaId: string, by: string | undefined): Promise<boolean>;
  /** Removes the record and answers it, or undefined when there was none. */
  delete(serverName: string, mediaId: string): Promise<MediaRecord | undefined>;
  /** Whether any media id still points at the blob. */
  referencesBlob(sha256: Sha256Hex): Promise<boolean>;
  /** Removes pending uploads that lapsed before `now`; answers how many. */
  deleteLapsedPending(now: number): Promise<number>;
  /** Removes media cached from other servers not accessed since `before`; answers the removed records. */
  deleteRemoteUnusedSince(localServerName: string, before: number): Promise<readonly MediaRecord[]>;
  /** A page of a local user's media (Synapse's admin listing), and how many they have in all. */
  listByUploader(uploader: string, query: MediaListQuery): Promise<{ readonly media: readonly MediaRecord[]; readonly total: number }>;
}

/**
 * What URL previews need from the outside: fetching a web page (or image) for a user, within the
 * operator's limits, and keeping a fetched image as media so the preview can name it by mxc:// URI.
 */

/** Why a fetch gave no page. Each maps to the answer Synapse gives for the same failure. */
export type UrlFetchFailureReason =
  /** The URL names an IP literal in a refused range (Synapse: 403 "IP address blocked by IP blacklist entry"). */
  | 'blockedIp'
  /** The name has no address, or only refused ones (Synapse: 502 "DNS resolution failure..."). */
  | 'dns'
  /** The answer is larger than `max_spider_size` (Synapse: 502 M_TOO_LARGE). */
  | 'tooLarge'
  /** Nothing previewable: a content type other than HTML, an image or JSON (Synapse: 502). */
  | 'contentType'
  /** The remote answered a non-2xx status (Synapse: 502 "Got error <status>"). */
  | 'status'
  /** Connecting, a redirect loop, a timeout or an answer cut short. */
  | 'unreachable';

export interface FetchedResource {
  /** The URL the answer finally came from (after redirects): relative links resolve against it. */
  readonly url: string;
  readonly status: number;
  /** The Content-Type's media type, lower case, without parameters. */
  readonly mediaType: string;
  /** The Content-Type's `charset` parameter, when it had one. */
  readonly charset?: string;
  /** A file name from Content-Disposition, when the remote gave one. */
  readonly fileName?: string;
  readonly body: Uint8Array;
}

export type UrlFetchResult =
  | { readonly ok: true; readonly resource: FetchedResource }
  | { readonly ok: false; readonly reason: UrlFetchFailureReason; readonly message: string };

export interface UrlPreviewFetcher {
  /** GETs an http(s) URL following redirects, every connection checked against the IP policy. */
  fetch(url: string): Promise<UrlFetchResult>;
}

export interface StoredPreviewImage {
  /** `mxc://server/mediaId` of the stored copy. */
  readonly contentUri: string;
  readonly width?: number;
  readonly height?: number;
}

/**
 * Keeps a previewed image as local media of the requesting user (Synapse stores it in the media
 * repository and answers its mxc:// URI). Undefined when the image cannot be kept (not an image).
 */
export interface UrlPreviewImageStore {
  storeImage(image: { readonly userId: string; readonly mediaType: string; readonly fileName?: string; readonly bytes: Uint8Array }): Promise<StoredPreviewImage | undefined>;
}

/** A preview as it was answered, with when it was made and until when it holds. */
export interface StoredUrlPreview {
  readonly og: Readonly<Record<string, string | number>>;
  readonly downloadTs: number;
  readonly expiresTs: number;
}

/**
 * Previews kept across restarts and processes, with their history (Synapse's
 * `local_media_repository_url_cache`), so that `ts` can ask for a preview as it stood then.
 */
export interface UrlPreviewCache {
  /** The preview of `url` as it stood at `ts`: the newest made at or before `ts`, else the oldest made after. */
  previewAt(url: string, ts: number): Promise<StoredUrlPreview | undefined>;
  keep(url: string, preview: StoredUrlPreview): Promise<void>;
  /** Forgets the previews that expired before `now`; answers how many. */
  forgetExpired(now: number): Promise<number>;
}

/**
 * Ports of media thumbnails (client-server-api § Thumbnails): the image codec that reads and resizes
 * images, and the metadata of the thumbnails made so far. A thumbnail's bytes live in the media
 * store beside the originals, by SHA-256.
 */

/** `scale` fits the image inside width×height keeping its aspect; `crop` covers the box, then centre-crops it. */
export type ThumbnailMethod = 'scale' | 'crop';

/** An image as it displays: dimensions after its EXIF orientation is applied. */
export interface ImageProbe {
  readonly width: number;
  readonly height: number;
  /** More than one frame (an animated GIF or WebP). */
  readonly animated: boolean;
}

/** One thumbnail to render, already clamped so that it never exceeds the original. */
export interface ThumbnailSpec {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
  /** image/jpeg, image/png, or image/webp for an animated thumbnail. */
  readonly contentType: string;
  /** Keep every frame; false renders the first frame only. */
  readonly animated: boolean;
}

export interface RenderedThumbnail {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly contentType: string;
}

/**
 * Why an image could not be thumbnailed: `undecodable` (truncated, not the type it claims, or a
 * format the codec refuses to open), `too_large` (more decoded pixels than the limit: a
 * decompression bomb is refused before it is rendered).
 */
export class ThumbnailError extends Error {
  readonly reason: 'undecodable' | 'too_large';

  constructor(reason: 'undecodable' | 'too_large', message: string) {
    super(message);
    this.name = 'ThumbnailError';
    this.reason = reason;
  }
}

/** The image codec. Both operations throw ThumbnailError for input they refuse. */
export interface Thumbnailer {
  probe(image: Uint8Array): Promise<ImageProbe>;
  render(image: Uint8Array, spec: ThumbnailSpec): Promise<RenderedThumbnail>;
}

/** A thumbnail made of a piece of media (Synapse's local_media_repository_thumbnails). */
export interface ThumbnailRecord {
  readonly serverName: string;
  readonly mediaId: string;
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
  readonly contentType: string;
  readonly animated: boolean;
  /** The thumbnail's bytes in the media store. */
  readonly sha256: string;
  readonly length: number;
  readonly createdTs: number;
}

export interface ThumbnailStore {
  /** Every thumbnail of the media, oldest first. */
  list(serverName: string, mediaId: string): Promise<ThumbnailRecord[]>;
  /**
   * Records a thumbnail, replacing one of the same size, method, type and animation (rendered
   * again because its bytes were gone).
   */
  add(record: ThumbnailRecord): Promise<void>;
  /** The media's image as probed before, so that choosing a thumbnail reads no original. */
  probeOf(serverName: string, mediaId: string): Promise<ImageProbe | undefined>;
  keepProbe(serverName: string, mediaId: string, probe: ImageProbe): Promise<void>;
  /** Whether any thumbnail's bytes are this blob. */
  referencesBlob(sha256: string): Promise<boolean>;
  /** Forgets the media's thumbnails and probe, answering the hashes they used (for the caller to release). */
  deleteAll(serverName: string, mediaId: string): Promise<string[]>;
}

/**
 * What to thumbnail and which thumbnail answers a request, as Synapse decides it
 * (synapse/config/repository.py, synapse/media/thumbnailer.py), pure: sizes in, sizes out.
 */
import type { ImageProbe, ThumbnailMethod, ThumbnailRecord, ThumbnailSpec } from '../../ports/thumbnails.ts';

/** One entry of `thumbnail_sizes`. */
export interface ThumbnailSize {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
}

/** Synapse's default `thumbnail_sizes`, made at upload. */
export const DEFAULT_THUMBNAIL_SIZES: readonly ThumbnailSize[] = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
];

/** Synapse's `max_image_pixels` default (32M): larger images are not decoded at all. */
export const DEFAULT_MAX_IMAGE_PIXELS = 32 * 1024 * 1024;

/**
 * The media types thumbnailed, and the type of their static thumbnails (Synapse's
 * THUMBNAIL_SUPPORTED_MEDIA_FORMAT_MAP): photos stay JPEG, GIFs become PNG (a palette image
 * scaled as JPEG would smear), WebP becomes JPEG.
 */
const STATIC_THUMBNAIL_TYPE: Readonly<Record<string, string>> = {
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/webp': 'image/jpeg',
  'image/gif': 'image/png',
  'image/png': 'image/png',
};

/** Animated thumbnails are WebP (the spec: servers SHOULD prefer image/webp when animating). */
export const ANIMATED_THUMBNAIL_TYPE = 'image/webp';

/** Media types that may be animated, so that `animated=true` is worth honouring. */
const ANIMATABLE_TYPES: ReadonlySet<string> = new Set(['image/gif', 'image/webp']);

const essence = (contentType: string): string => (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();

/** The type of a static thumbnail of media of `contentType`; undefined when it is not thumbnailed. */
export const staticThumbnailType = (contentType: string): string | undefined =>
  Object.hasOwn(STATIC_THUMBNAIL_TYPE, essence(contentType)) ? STATIC_THUMBNAIL_TYPE[essence(contentType)] : undefined;

export const mayBeAnimated = (contentType: string): boolean => ANIMATABLE_TYPES.has(essence(contentType));

/**
 * The largest size that keeps the image's aspect and fits inside max width × max height, at least
 * one pixel each way (Synapse's Thumbnailer.aspect).
 */
export const aspectFit = (image: { width: number; height: number }, maxWidth: number, maxHeight: number): [number, number] =>
  maxWidth * image.height < maxHeight * image.width
    ? [maxWidth, Math.max(Math.floor((maxWidth * image.height) / image.width), 1)]
    : [Math.max(Math.floor((maxHeight * image.width) / image.height), 1), maxHeight];

/**
 * The size to render for a request, never larger than the original: `scale` fits the box (then
 * clamps to the original), `crop` keeps the box's aspect, shrunk until the original covers it.
 */
export const targetSize = (image: ImageProbe, width: number, height: number, method: ThumbnailMethod): [number, number] => {
  if (method === 'scale') {
    const [w, h] = aspectFit(image, width, height);
    return [Math.min(image.width, w), Math.min(image.height, h)];
  }
  const shrink = Math.min(1, image.width / width, image.height / height);
  return [Math.max(1, Math.floor(width * shrink)), Math.max(1, Math.floor(height * shrink))];
};

/**
 * The thumbnails to make at upload: one per configured size, a crop skipped where a scale of the
 * same size and type exists (Synapse's _generate_thumbnails deduplication).
 */
export const precomputedSpecs = (
  image: ImageProbe, contentType: string, sizes: readonly ThumbnailSize[],
): ThumbnailSpec[] => {
  const type = staticThumbnailType(contentType);
  if (type === undefined) return [];
  const byKey = new Map<string, ThumbnailSpec>();
  for (const size of sizes) {
    const [width, height] = targetSize(image, size.width, size.height, size.method);
    const key = `${width}x${height}`;
    const spec: ThumbnailSpec = { width, height, method: size.method, contentType: type, animated: false };
    if (size.method === 'crop') {
      if (!byKey.has(key)) byKey.set(key, spec);
    } else {
      byKey.set(key, spec);
    }
  }
  return [...byKey.values()];
};

/** The wanted thumbnail, as the request and the image allow it. */
export interface ThumbnailWant {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
  readonly contentType: string;
  readonly animated: boolean;
}

/**
 * What a request asks for once the image is known: `animated=true` is honoured only for an
 * animated source (the spec: behave as though false otherwise).
 */
export const wantFor = (
  image: ImageProbe, contentType: string, request: { width: number; height: number; method: ThumbnailMethod; animated: boolean },
): ThumbnailWant | undefined => {
  const type = staticThumbnailType(contentType);
  if (type === undefined) return undefined;
  const animated = request.animated && image.animated && mayBeAnimated(contentType);
  const [width, height] = targetSize(image, request.width, request.height, request.method);
  return { width, height, method: request.method, contentType: animated ? ANIMATED_THUMBNAIL_TYPE : type, animated };
};

type Candidate = readonly [quality: readonly (number | boolean)[], record: ThumbnailRecord];

const best = (candidates: readonly Candidate[]): ThumbnailRecord | undefined => {
  let chosen: Candidate | undefined;
  for (const candidate of candidates) {
    if (chosen === undefined || compareQualities(candidate[0], chosen[0]) < 0) chosen = candidate;
  }
  return chosen?.[1];
};

const compareQualities = (a: readonly (number | boolean)[], b: readonly (number | boolean)[]): number => {
  for (let i = 0; i < a.length; i += 1) {
    const d = Number(a[i]) - Number(b[i]);
    if (d !== 0) return d;
  }
  return 0;
};

/**
 * The stored thumbnail that best answers a request of desired width × height (Synapse's
 * _select_thumbnail): same method; those at least as large one way first; for crops the closest
 * aspect, then covering both ways, then the closest size; then the desired type; then the smallest
 * file. Ties go to the earliest.
 */
export const selectThumbnail = (
  desired: { width: number; height: number; method: ThumbnailMethod; contentType: string },
  thumbnails: readonly ThumbnailRecord[],
): ThumbnailRecord | undefined => {
  const { width: dw, height: dh } = desired;
  const larger: Candidate[] = [];
  const smaller: Candidate[] = [];
  for (const info of thumbnails) {
    if (info.method !== desired.method) continue;
    const { width: tw, height: th } = info;
    const size = Math.abs((dw - tw) * (dh - th));
    const type = desired.contentType !== info.contentType;
    const quality = desired.method === 'crop'
      ? [Math.abs(dw * th - dh * tw), dw <= tw && dh <= th ? 0 : 1, size, type, info.length]
      : [size, type, info.length];
    (tw >= dw || th >= dh ? larger : smaller).push([quality, info]);
  }
  return best(larger) ?? best(smaller);
};

/**
 * Whether a stored thumbnail serves a wanted one as well as rendering it would: the same method,
 * type and animation, at least the wanted size, and for a crop the same aspect (within rounding).
 */
export const serves = (record: ThumbnailRecord, want: ThumbnailWant): boolean => {
  if (record.method !== want.method || record.contentType !== want.contentType || record.animated !== want.animated) return false;
  if (record.width < want.width || record.height < want.height) return false;
  if (want.method === 'scale') return true;
  return Math.abs(record.width * want.height - record.height * want.width) <= Math.max(record.width, record.height);
};

/** The best stored thumbnail for a want, if one serves it (else one is rendered). */
export const storedThumbnailFor = (want: ThumbnailWant, thumbnails: readonly ThumbnailRecord[]): ThumbnailRecord | undefined => {
  const sameKind = thumbnails.filter((record) => record.animated === want.animated);
  const chosen = selectThumbnail(want, sameKind);
  return chosen !== undefined && serves(chosen, want) ? chosen : undefined;
};

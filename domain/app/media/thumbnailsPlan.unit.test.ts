import { describe, expect, it } from 'vitest';
import type { ThumbnailRecord } from '../../ports/thumbnails.ts';
import {
  aspectFit, DEFAULT_THUMBNAIL_SIZES, precomputedSpecs, selectThumbnail, staticThumbnailType, storedThumbnailFor, targetSize, wantFor,
} from './thumbnailsPlan.ts';

const still = (width: number, height: number) => ({ width, height, animated: false });

const record = (width: number, height: number, method: 'scale' | 'crop', contentType = 'image/png', length = 100): ThumbnailRecord => ({
  serverName: 'example.org', mediaId: 'm', width, height, method, contentType, animated: false, sha256: `${width}x${height}${method}`, length, createdTs: 0,
});

describe('thumbnail sizes', () => {
  it('fits inside the box keeping the aspect, at least one pixel', () => {
    expect(aspectFit(still(1000, 500), 320, 240)).toEqual([320, 160]);
    expect(aspectFit(still(500, 1000), 320, 240)).toEqual([120, 240]);
    expect(aspectFit(still(10_000, 1), 32, 32)).toEqual([32, 1]);
  });

  it('never renders larger than the original', () => {
    expect(targetSize(still(100, 50), 800, 600, 'scale')).toEqual([100, 50]);
    expect(targetSize(still(100, 50), 96, 96, 'crop')).toEqual([50, 50]);
    expect(targetSize(still(20, 20), 32, 32, 'crop')).toEqual([20, 20]);
    expect(targetSize(still(1000, 1000), 64, 48, 'crop')).toEqual([64, 48]);
  });

  it('thumbnails JPEG and WebP as JPEG, PNG and GIF as PNG, nothing else', () => {
    expect(staticThumbnailType('image/jpeg')).toBe('image/jpeg');
    expect(staticThumbnailType('IMAGE/WEBP; x=y')).toBe('image/jpeg');
    expect(staticThumbnailType('image/gif')).toBe('image/png');
    expect(staticThumbnailType('image/png')).toBe('image/png');
    expect(staticThumbnailType('image/svg+xml')).toBeUndefined();
    expect(staticThumbnailType('application/pdf')).toBeUndefined();
    expect(staticThumbnailType('constructor')).toBeUndefined();
  });

  it('precomputes Synapse\'s default sizes, a crop skipped where a scale has its size', () => {
    expect(precomputedSpecs(still(2000, 1000), 'image/jpeg', DEFAULT_THUMBNAIL_SIZES).map((s) => [s.width, s.height, s.method, s.contentType])).toEqual([
      [32, 32, 'crop', 'image/jpeg'], [96, 96, 'crop', 'image/jpeg'],
      [320, 160, 'scale', 'image/jpeg'], [640, 320, 'scale', 'image/jpeg'], [800, 400, 'scale', 'image/jpeg'],
    ]);
    // A 50×50 image: the crops shrink to 32×32 and 50×50, and every scale is 50×50, replacing the 50×50 crop.
    expect(precomputedSpecs(still(50, 50), 'image/png', DEFAULT_THUMBNAIL_SIZES).map((s) => [s.width, s.height, s.method])).toEqual([
      [32, 32, 'crop'], [50, 50, 'scale'],
    ]);
    expect(precomputedSpecs(still(50, 50), 'text/plain', DEFAULT_THUMBNAIL_SIZES)).toEqual([]);
  });

  it('honours animated=true only for an animated GIF or WebP, as WebP', () => {
    const animated = { width: 100, height: 100, animated: true };
    expect(wantFor(animated, 'image/gif', { width: 50, height: 50, method: 'scale', animated: true }))
      .toEqual({ width: 50, height: 50, method: 'scale', contentType: 'image/webp', animated: true });
    expect(wantFor(animated, 'image/gif', { width: 50, height: 50, method: 'scale', animated: false })?.contentType).toBe('image/png');
    expect(wantFor(still(100, 100), 'image/gif', { width: 50, height: 50, method: 'scale', animated: true })?.animated).toBe(false);
    expect(wantFor(still(100, 100), 'image/jpeg', { width: 50, height: 50, method: 'crop', animated: true })?.contentType).toBe('image/jpeg');
  });
});

describe('choosing a stored thumbnail', () => {
  const stored = [record(32, 32, 'crop'), record(96, 96, 'crop'), record(320, 160, 'scale'), record(640, 320, 'scale'), record(800, 400, 'scale')];

  it('picks as Synapse does: the closest at least as large, of the same method', () => {
    expect(selectThumbnail({ width: 64, height: 64, method: 'crop', contentType: 'image/png' }, stored)?.sha256).toBe('96x96crop');
    expect(selectThumbnail({ width: 30, height: 30, method: 'crop', contentType: 'image/png' }, stored)?.sha256).toBe('32x32crop');
    expect(selectThumbnail({ width: 100, height: 100, method: 'scale', contentType: 'image/png' }, stored)?.sha256).toBe('320x160scale');
    expect(selectThumbnail({ width: 700, height: 500, method: 'scale', contentType: 'image/png' }, stored)?.sha256).toBe('800x400scale');
    // Nothing as large: the closest of the smaller ones.
    expect(selectThumbnail({ width: 500, height: 500, method: 'crop', contentType: 'image/png' }, stored)?.sha256).toBe('96x96crop');
    expect(selectThumbnail({ width: 64, height: 64, method: 'crop', contentType: 'image/png' }, [])).toBeUndefined();
  });

  it('prefers the desired type, then the smaller file', () => {
    const candidates = [record(96, 96, 'crop', 'image/jpeg', 50), record(96, 96, 'crop', 'image/png', 500), record(96, 96, 'crop', 'image/png', 400)];
    expect(selectThumbnail({ width: 96, height: 96, method: 'crop', contentType: 'image/png' }, candidates)?.length).toBe(400);
    expect(selectThumbnail({ width: 96, height: 96, method: 'crop', contentType: 'image/jpeg' }, candidates)?.length).toBe(50);
  });

  it('serves a request from storage only when the stored thumbnail is as good as rendering it', () => {
    const image = still(2000, 1000);
    const want = (width: number, height: number, method: 'scale' | 'crop') => wantFor(image, 'image/png', { width, height, method, animated: false })!;
    expect(storedThumbnailFor(want(64, 64, 'crop'), stored)?.sha256).toBe('96x96crop');
    expect(storedThumbnailFor(want(100, 100, 'scale'), stored)?.sha256).toBe('320x160scale');
    // Larger than every crop kept, or of another aspect: rendered instead.
    expect(storedThumbnailFor(want(200, 200, 'crop'), stored)).toBeUndefined();
    expect(storedThumbnailFor(want(64, 48, 'crop'), stored)).toBeUndefined();
    expect(storedThumbnailFor(want(1000, 1000, 'scale'), stored)).toBeUndefined();
    // Another type than wanted is not served.
    expect(storedThumbnailFor(wantFor(image, 'image/jpeg', { width: 64, height: 64, method: 'crop', animated: false })!, stored)).toBeUndefined();
  });
});

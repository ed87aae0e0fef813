import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ThumbnailError } from '../../domain/ports/index.ts';
import { createSharpThumbnailer } from './thumbnails.ts';

const MAX_PIXELS = 32 * 1024 * 1024;
const thumbnailer = createSharpThumbnailer({ maxImagePixels: MAX_PIXELS });

const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } });

const frames = (width: number, height: number) =>
  Promise.all(['red', 'green', 'blue'].map((colour) => solid(width, height, colour).png().toBuffer()));

const metadataOf = (bytes: Uint8Array, animated = false) => sharp(bytes, { animated }).metadata();

/** The colour of one pixel, as [r, g, b]. */
const pixel = async (bytes: Uint8Array, x: number, y: number): Promise<number[]> => {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
};

const refusal = async (work: Promise<unknown>): Promise<ThumbnailError> => {
  const error = await work.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ThumbnailError);
  return error as ThumbnailError;
};

/** A PNG whose header declares width × height, followed by no image data worth the name. */
const declaredPng = (width: number, height: number): Uint8Array => {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    // The CRC is left zero: the header is read before any checksum matters to the size check.
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  };
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(16))]);
};

describe('sharp thumbnailer', () => {
  it('scales a PNG to the exact size asked, as PNG', async () => {
    const png = await solid(400, 200, 'red').png().toBuffer();
    expect(await thumbnailer.probe(png)).toEqual({ width: 400, height: 200, animated: false });
    const out = await thumbnailer.render(png, { width: 100, height: 50, method: 'scale', contentType: 'image/png', animated: false });
    expect(out).toMatchObject({ width: 100, height: 50, contentType: 'image/png' });
    const metadata = await metadataOf(out.bytes);
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['png', 100, 50]);
  });

  it('crops from the centre: a wide image keeps its middle', async () => {
    // Left third red, middle third green, right third blue.
    const [red, green, blue] = await frames(100, 100);
    const png = await sharp({ create: { width: 300, height: 100, channels: 3, background: 'black' } })
      .composite([{ input: red!, left: 0, top: 0 }, { input: green!, left: 100, top: 0 }, { input: blue!, left: 200, top: 0 }])
      .png().toBuffer();
    const out = await thumbnailer.render(png, { width: 32, height: 32, method: 'crop', contentType: 'image/png', animated: false });
    expect([out.width, out.height]).toEqual([32, 32]);
    const [r, g, b] = await pixel(out.bytes, 0, 16);
    expect(g).toBeGreaterThan(100);
    expect(r).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('applies a JPEG\'s EXIF orientation and answers JPEG', async () => {
    // Stored 400×200, left half red, right half blue; orientation 6 displays it turned a quarter clockwise.
    const [red] = await frames(200, 200);
    const jpeg = await solid(400, 200, 'blue').composite([{ input: red!, left: 0, top: 0 }])
      .jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(await thumbnailer.probe(jpeg)).toEqual({ width: 200, height: 400, animated: false });
    const out = await thumbnailer.render(jpeg, { width: 50, height: 100, method: 'scale', contentType: 'image/jpeg', animated: false });
    const metadata = await metadataOf(out.bytes);
    expect([metadata.format, metadata.width, metadata.height, metadata.orientation ?? 1]).toEqual(['jpeg', 50, 100, 1]);
    const [topR, , topB] = await pixel(out.bytes, 25, 10);
    const [bottomR, , bottomB] = await pixel(out.bytes, 25, 90);
    expect(topR).toBeGreaterThan(200);
    expect(topB).toBeLessThan(60);
    expect(bottomB).toBeGreaterThan(200);
    expect(bottomR).toBeLessThan(60);
  });

  it('keeps an animated GIF animated (as WebP) when asked, and renders its first frame otherwise', async () => {
    const gif = await sharp(await frames(60, 40), { join: { animated: true } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    expect(await thumbnailer.probe(gif)).toEqual({ width: 60, height: 40, animated: true });
    const animated = await thumbnailer.render(gif, { width: 30, height: 30, method: 'crop', contentType: 'image/webp', animated: true });
    expect(animated).toMatchObject({ width: 30, height: 30, contentType: 'image/webp' });
    const metadata = await metadataOf(animated.bytes, true);
    expect([metadata.format, metadata.pages, metadata.pageHeight]).toEqual(['webp', 3, 30]);
    const still = await thumbnailer.render(gif, { width: 30, height: 20, method: 'scale', contentType: 'image/png', animated: false });
    const stillMetadata = await metadataOf(still.bytes);
    expect([stillMetadata.format, stillMetadata.pages ?? 1, stillMetadata.width, stillMetadata.height]).toEqual(['png', 1, 30, 20]);
    const [r, g] = await pixel(still.bytes, 15, 10);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(60);
  });

  it('keeps an animated WebP animated, and thumbnails a still WebP as JPEG', async () => {
    const webp = await sharp(await frames(80, 80), { join: { animated: true } }).webp().toBuffer();
    expect(await thumbnailer.probe(webp)).toEqual({ width: 80, height: 80, animated: true });
    const animated = await thumbnailer.render(webp, { width: 40, height: 40, method: 'scale', contentType: 'image/webp', animated: true });
    expect((await metadataOf(animated.bytes, true)).pages).toBe(3);
    const still = await solid(80, 60, 'green').webp().toBuffer();
    const out = await thumbnailer.render(still, { width: 40, height: 30, method: 'scale', contentType: 'image/jpeg', animated: false });
    expect((await metadataOf(out.bytes)).format).toBe('jpeg');
  });

  it('refuses a decompression bomb from its header, before decoding it', async () => {
    const bomb = await refusal(thumbnailer.probe(declaredPng(100_000, 100_000)));
    expect(bomb.reason).toBe('too_large');
    // A real, valid 6000×6000 image compresses to little but decodes to 36M pixels: refused too.
    const real = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: 'white' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(real.length).toBeLessThan(1024 * 1024);
    expect((await refusal(thumbnailer.render(real, { width: 32, height: 32, method: 'crop', contentType: 'image/png', animated: false }))).reason)
      .toBe('too_large');
  });

  it('refuses what is no image, a truncated image and formats it does not open', async () => {
    const text = new TextEncoder().encode('this says it is a PNG but it is text');
    expect((await refusal(thumbnailer.probe(text))).reason).toBe('undecodable');
    const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).png().toBuffer();
    const truncated = png.subarray(0, png.length / 2);
    const spec = { width: 32, height: 32, method: 'crop', contentType: 'image/png', animated: false } as const;
    expect((await refusal(thumbnailer.render(truncated, spec))).reason).toBe('undecodable');
    const tiff = await solid(10, 10, 'red').tiff().toBuffer();
    expect((await refusal(thumbnailer.probe(tiff))).reason).toBe('undecodable');
  });
});

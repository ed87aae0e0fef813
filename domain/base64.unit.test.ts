import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64ToUrlSafe, decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from './base64.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('unpadded base64', () => {
  it('encodes without padding in both alphabets', () => {
    expect(encodeBase64(bytes('fo'))).toBe('Zm8');
    expect(encodeBase64(new Uint8Array([0xfb, 0xff]))).toBe('+/8');
    expect(encodeBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(base64ToUrlSafe('+/8=')).toBe('-_8');
  });

  it('decodes padded and unpadded input (appendices: decoders SHOULD accept both)', () => {
    expect(decodeBase64('Zm8')).toEqual(bytes('fo'));
    expect(decodeBase64('Zm8=')).toEqual(bytes('fo'));
    expect(decodeBase64('Zg==')).toEqual(bytes('f'));
    expect(decodeBase64Url('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(decodeBase64Url('-_8=')).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(decodeBase64('')).toEqual(new Uint8Array());
  });

  it('rejects text that is not base64 of the requested alphabet', () => {
    for (const bad of ['Zm8!', 'Z', 'Zm8==', 'Zg=', '=Zg', 'Zm 8', '-_8']) expect(decodeBase64(bad), bad).toBeUndefined();
    for (const bad of ['+/8', 'Zm8!', 'Z']) expect(decodeBase64Url(bad), bad).toBeUndefined();
  });

  it('round-trips any bytes in both alphabets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        expect(decodeBase64(encodeBase64(data))).toEqual(data);
        expect(decodeBase64Url(encodeBase64Url(data))).toEqual(data);
        expect(encodeBase64(data)).not.toContain('=');
        expect(base64ToUrlSafe(encodeBase64(data))).toBe(encodeBase64Url(data));
      }),
    );
  });
});

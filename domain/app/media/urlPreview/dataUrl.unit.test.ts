import { describe, expect, it } from 'vitest';
import { resourceOfDataUrl } from './dataUrl.ts';

describe('resourceOfDataUrl', () => {
  it('decodes base64 and percent-encoded data with its media type', () => {
    expect(resourceOfDataUrl('data:image/png;base64,iVBORw0K')).toEqual({ url: 'data:image/png;base64,', status: 200, mediaType: 'image/png', body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]) });
    expect(resourceOfDataUrl('data:,Hello%2C%20World')).toMatchObject({ mediaType: 'text/plain', body: new TextEncoder().encode('Hello, World') });
    expect(resourceOfDataUrl('DATA:Image/GIF;BASE64,R0lG')).toMatchObject({ mediaType: 'image/gif', body: new Uint8Array([0x47, 0x49, 0x46]) });
  });

  it('refuses what is not a well-formed data URL', () => {
    expect(resourceOfDataUrl('https://x.example/a.png')).toBeUndefined();
    expect(resourceOfDataUrl('data:image/png;base64')).toBeUndefined();
    expect(resourceOfDataUrl('data:image/png;base64,!!!')).toBeUndefined();
    expect(resourceOfDataUrl('data:text/plain,%E0%A4%A')).toBeUndefined();
  });
});

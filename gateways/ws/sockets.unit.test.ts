import { describe, expect, it } from 'vitest';
import { closeReason } from './sockets.ts';

describe('closeReason', () => {
  it('keeps short reasons and cuts long ones to 123 bytes on a character boundary', () => {
    expect(closeReason('M_UNKNOWN_TOKEN: Unknown access token')).toBe('M_UNKNOWN_TOKEN: Unknown access token');
    expect(Buffer.byteLength(closeReason('x'.repeat(500)))).toBe(123);
    // 'é' is two bytes: 61 of them are 122 bytes, a 62nd would pass the bound.
    const cut = closeReason('é'.repeat(100));
    expect(cut).toBe('é'.repeat(61));
    expect(cut).not.toContain('\uFFFD');
  });
});

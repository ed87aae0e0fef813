import { describe, expect, it } from 'vitest';
import { dispositionFileName, parseMultipartMedia } from './multipart.ts';

const answer = (boundary: string, mediaHeaders: string, bytes: Buffer): Buffer => Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--${boundary}\r\n${mediaHeaders}\r\n\r\n`),
  bytes,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);

describe('multipart media answers', () => {
  it('reads the media part: bytes (boundaries inside them included), type and file name', () => {
    const bytes = Buffer.concat([Buffer.from('\r\n--b0undary\r\n'), Buffer.from([0, 1, 2, 255])]);
    const part = parseMultipartMedia('multipart/mixed; boundary=b0undary',
      answer('b0undary', 'Content-Type: image/png\r\nContent-Disposition: inline; filename=cat.png', bytes));
    expect(part).toEqual({ kind: 'bytes', contentType: 'image/png', uploadName: 'cat.png', bytes });
  });

  it('reads a redirect part and refuses what is not a multipart answer', () => {
    const body = Buffer.from('--x\r\nContent-Type: application/json\r\n\r\n{}\r\n--x\r\nLocation: https://cdn.example/m\r\n\r\n\r\n--x--\r\n');
    expect(parseMultipartMedia('multipart/mixed; boundary="x"', body)).toEqual({ kind: 'redirect', location: 'https://cdn.example/m' });
    expect(typeof parseMultipartMedia('application/json', body)).toBe('string');
    expect(typeof parseMultipartMedia('multipart/mixed; boundary=x', Buffer.from('--x\r\n{}'))).toBe('string');
    expect(typeof parseMultipartMedia('multipart/mixed; boundary=x', Buffer.from('--x\r\nA: b\r\n\r\n{}\r\n--x\r\nContent-Type: a/b\r\n\r\nno end'))).toBe('string');
  });

  it('reads file names as RFC 6266 writes them', () => {
    expect(dispositionFileName("attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf")).toBe('résumé.pdf');
    expect(dispositionFileName('inline; filename="a \\"b\\".txt"')).toBe('a "b".txt');
    expect(dispositionFileName('inline; filename=plain.txt')).toBe('plain.txt');
    expect(dispositionFileName('inline')).toBeUndefined();
    expect(dispositionFileName("attachment; filename*=utf-8''%E0%A4")).toBeUndefined();
  });
});

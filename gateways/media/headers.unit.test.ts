import { describe, expect, it } from 'vitest';
import { contentDisposition, servedContentType } from './headers.ts';

describe('media headers', () => {
  it('shows only Synapse\'s safe types inline', () => {
    for (const type of ['image/png', 'image/jpeg', 'text/plain', 'video/mp4', 'audio/ogg', 'IMAGE/PNG', 'text/plain; charset=UTF-16']) {
      expect(contentDisposition(type, undefined)).toBe('inline');
    }
    for (const type of ['text/html', 'image/svg+xml', 'application/javascript', 'application/pdf', 'application/octet-stream']) {
      expect(contentDisposition(type, undefined)).toBe('attachment');
    }
  });

  it('writes a token file name bare and any other percent-encoded as filename*', () => {
    expect(contentDisposition('image/png', 'cat.png')).toBe('inline; filename=cat.png');
    expect(contentDisposition('image/png', 'my cat.png')).toBe("inline; filename*=utf-8''my%20cat.png");
    expect(contentDisposition('text/html', 'a"b\r\nX-Evil: 1.html')).toBe("attachment; filename*=utf-8''a%22b%0D%0AX-Evil%3A%201.html");
    expect(contentDisposition('text/plain', 'résumé.txt')).toBe("inline; filename*=utf-8''r%C3%A9sum%C3%A9.txt");
    expect(contentDisposition('text/plain', "it's(1)*.txt")).toBe("inline; filename*=utf-8''it%27s%281%29%2A.txt");
    expect(contentDisposition('text/plain', '')).toBe('inline');
  });

  it('adds a UTF-8 charset to text types that name none', () => {
    expect(servedContentType('text/plain')).toBe('text/plain; charset=UTF-8');
    expect(servedContentType('application/json')).toBe('application/json; charset=UTF-8');
    expect(servedContentType('text/plain; charset=UTF-16')).toBe('text/plain; charset=UTF-16');
    expect(servedContentType('image/png')).toBe('image/png');
  });
});

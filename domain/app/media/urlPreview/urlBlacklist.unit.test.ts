import { describe, expect, it } from 'vitest';
import { isUrlBlacklisted, urlBlacklistEntryProblem, type UrlBlacklistEntry } from './urlBlacklist.ts';

describe('url_preview_url_blacklist', () => {
  it('refuses a URL when every attribute of an entry matches (globs)', () => {
    const entries: UrlBlacklistEntry[] = [{ netloc: '*.example.com' }, { scheme: 'http', netloc: 'plain.org' }];
    expect(isUrlBlacklisted('https://a.example.com/x', entries)).toBe(true);
    expect(isUrlBlacklisted('http://plain.org/', entries)).toBe(true);
    expect(isUrlBlacklisted('https://plain.org/', entries)).toBe(false);
    expect(isUrlBlacklisted('https://example.com.evil/', entries)).toBe(false);
  });

  it('reads a pattern starting with ^ as a regular expression', () => {
    const entries: UrlBlacklistEntry[] = [{ path: '^/private/' }, { hostname: '^192\\.168\\.' }];
    expect(isUrlBlacklisted('https://x.org/private/file', entries)).toBe(true);
    expect(isUrlBlacklisted('https://x.org/public/private/', entries)).toBe(false);
    expect(isUrlBlacklisted('http://192.168.1.1/', entries)).toBe(true);
  });

  it('never matches an attribute the URL lacks', () => {
    expect(isUrlBlacklisted('https://x.org/', [{ username: '*' }])).toBe(false);
    expect(isUrlBlacklisted('https://user@x.org/', [{ username: '*' }])).toBe(true);
  });

  it('names the problem of an invalid entry', () => {
    expect(urlBlacklistEntryProblem({ netlocation: 'x' })).toMatch(/unknown URL attribute/);
    expect(urlBlacklistEntryProblem({ path: '^(' })).toMatch(/not a regular expression/);
    expect(urlBlacklistEntryProblem({ path: '/x/*' })).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.ts';
import { parseSize } from './urlPreview.ts';

const fileWith = (text: string) => (): string => text;
const FILE = { STRATA_CONFIG: '/etc/strata.yaml' };

const problemOf = (yaml: string): string => {
  try {
    loadConfig(FILE, fileWith(yaml));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
};

describe('url preview settings', () => {
  it('are off by default, with the default IP blacklist, 10 MiB and English', () => {
    expect(loadConfig({}, () => '').urlPreview).toEqual({ enabled: false, ipRangeWhitelist: [], urlBlacklist: [], acceptLanguage: ['en'], maxSpiderSize: 10 * 1024 * 1024 });
  });

  it("read Synapse's keys", () => {
    const config = loadConfig(FILE, fileWith([
      'url_preview_enabled: true',
      'url_preview_ip_range_blacklist: ["10.0.0.0/8", "::1/128"]',
      'url_preview_ip_range_whitelist: ["127.0.0.1"]',
      'url_preview_url_blacklist:',
      '  - { netloc: "*.internal", scheme: http }',
      '  - { path: "^/admin" }',
      'url_preview_accept_language: ["en-GB", "fr;q=0.8"]',
      'max_spider_size: 512K',
    ].join('\n')));
    expect(config.urlPreview).toEqual({
      enabled: true,
      ipRangeBlacklist: ['10.0.0.0/8', '::1/128'],
      ipRangeWhitelist: ['127.0.0.1'],
      urlBlacklist: [{ netloc: '*.internal', scheme: 'http' }, { path: '^/admin' }],
      acceptLanguage: ['en-GB', 'fr;q=0.8'],
      maxSpiderSize: 512 * 1024,
    });
  });

  it('refuse invalid ranges, blacklist entries and sizes, naming the key', () => {
    expect(problemOf('url_preview_ip_range_whitelist: ["127.0.0.1/40"]')).toMatch(/url_preview_ip_range_whitelist/);
    expect(problemOf('url_preview_url_blacklist: [{ host: "x" }]')).toMatch(/url_preview_url_blacklist.*unknown URL attribute/s);
    expect(problemOf('url_preview_url_blacklist: [{ path: "^(" }]')).toMatch(/not a regular expression/);
    expect(problemOf('max_spider_size: lots')).toMatch(/max_spider_size/);
    expect(problemOf('url_preview_accept_language: ["en\\r\\nX-Injected: 1"]')).toMatch(/url_preview_accept_language/);
  });
});

describe('parseSize', () => {
  it('reads bytes and K/M/G in powers of 1024', () => {
    expect(parseSize(1234)).toBe(1234);
    expect(parseSize('10M')).toBe(10 * 1024 * 1024);
    expect(parseSize('2g')).toBe(2 * 1024 ** 3);
    expect(parseSize('0')).toMatch(/positive/);
    expect(parseSize(-1)).toMatch(/positive/);
  });
});

import { describe, expect, it } from 'vitest';
import { oembedLinkOf, openGraphFromOEmbed } from './oembed.ts';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const FROM = 'https://video.example/oembed?id=1';

describe('oembedLinkOf', () => {
  it("finds the page's JSON oEmbed link, made absolute", () => {
    expect(oembedLinkOf('<link rel="alternate" type="text/xml+oembed" href="/x.xml"><link rel="Alternate" type="application/json+oembed" href="/oembed?id=1&amp;f=json">', 'https://video.example/watch'))
      .toBe('https://video.example/oembed?id=1&f=json');
    expect(oembedLinkOf('<link rel="alternate" type="application/json+oembed" href="javascript:x">', 'https://video.example/')).toBeUndefined();
    expect(oembedLinkOf('<title>none</title>', 'https://video.example/')).toBeUndefined();
  });
});

describe('openGraphFromOEmbed', () => {
  it('reads title, provider, thumbnail and author', () => {
    expect(openGraphFromOEmbed(json({ version: '1.0', type: 'link', title: 'T', provider_name: 'P', thumbnail_url: 'https://img.example/t.jpg', author_name: 'A' }), FROM))
      .toEqual({ og: { 'og:title': 'T', 'og:site_name': 'P', 'og:image': 'https://img.example/t.jpg', 'og:type': 'website' }, authorName: 'A' });
  });

  it("takes a photo's url as its image, and a rich or video fragment's text as the description", () => {
    expect(openGraphFromOEmbed(json({ type: 'photo', url: 'https://img.example/p.png', thumbnail_url: 'https://img.example/t.png' }), FROM)?.og['og:image']).toBe('https://img.example/p.png');
    expect(openGraphFromOEmbed(json({ version: 1, type: 'video', html: '<iframe src="x"></iframe><p>A talk about Matrix</p><img src="/still.jpg">' }), FROM)?.og).toEqual({
      'og:type': 'video.other', 'og:description': 'A talk about Matrix', 'og:image': 'https://video.example/still.jpg',
    });
  });

  it('reads cache_age (seconds, numeric or a numeric string) as how long the answer holds', () => {
    expect(openGraphFromOEmbed(json({ type: 'link', cache_age: 120 }), FROM)?.cacheAgeMs).toBe(120_000);
    expect(openGraphFromOEmbed(json({ type: 'link', cache_age: '60' }), FROM)?.cacheAgeMs).toBe(60_000);
    expect(openGraphFromOEmbed(json({ type: 'link', cache_age: 'soon' }), FROM)).not.toHaveProperty('cacheAgeMs');
  });

  it('refuses what is not an oEmbed 1.0 object', () => {
    expect(openGraphFromOEmbed(new TextEncoder().encode('not json'), FROM)).toBeUndefined();
    expect(openGraphFromOEmbed(json([1, 2]), FROM)).toBeUndefined();
    expect(openGraphFromOEmbed(json({ version: '2.0', title: 'x' }), FROM)).toBeUndefined();
    expect(openGraphFromOEmbed(json({ title: 42 }), FROM)).toEqual({ og: {} });
  });
});

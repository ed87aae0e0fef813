import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../../errors.ts';
import type { FetchedResource, UrlFetchResult, UrlPreviewCache, UrlPreviewImageStore } from '../../../ports/urlPreview.ts';
import { createUrlPreviews } from './previews.ts';

const html = (url: string, text: string): UrlFetchResult => ({
  ok: true, resource: { url, status: 200, mediaType: 'text/html', body: new TextEncoder().encode(text) },
});
const png = (url: string, bytes = 7, fileName?: string): UrlFetchResult => ({
  ok: true, resource: { url, status: 200, mediaType: 'image/png', body: new Uint8Array(bytes), ...(fileName === undefined ? {} : { fileName }) },
});

const fakeFetcher = (pages: Record<string, UrlFetchResult>) => {
  const asked: string[] = [];
  return {
    asked,
    fetch: async (url: string): Promise<UrlFetchResult> => {
      asked.push(url);
      return pages[url] ?? { ok: false, reason: 'status', message: 'Got error 404' };
    },
  };
};

const recordingImages = () => {
  const stored: { userId: string; mediaType: string; size: number }[] = [];
  const images: UrlPreviewImageStore = {
    storeImage: async ({ userId, mediaType, bytes }) => {
      stored.push({ userId, mediaType, size: bytes.length });
      return { contentUri: `mxc://strata.test/img${stored.length}`, width: 4, height: 3 };
    },
  };
  return { stored, images };
};

const errorOf = async (promise: Promise<unknown>): Promise<MatrixError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MatrixError) return error;
    throw error;
  }
  throw new Error('expected a MatrixError');
};

describe('createUrlPreviews', () => {
  let now = 1_000_000;
  const clock = { now: () => now };

  it("keeps a page's og:image as the user's media and answers its mxc:// URI, size and dimensions", async () => {
    const fetcher = fakeFetcher({
      'https://site.example/': html('https://site.example/', '<meta property="og:title" content="Site"><meta property="og:image" content="/a.png">'),
      'https://site.example/a.png': png('https://site.example/a.png', 42),
    });
    const { stored, images } = recordingImages();
    const previews = createUrlPreviews({ fetcher, images, clock });
    expect(await previews.preview({ userId: '@a:strata.test', url: 'https://site.example/' })).toEqual({
      'og:title': 'Site',
      'og:image': 'mxc://strata.test/img1',
      'og:image:type': 'image/png',
      'og:image:width': 4,
      'og:image:height': 3,
      'matrix:image:size': 42,
    });
    expect(stored).toEqual([{ userId: '@a:strata.test', mediaType: 'image/png', size: 42 }]);
  });

  it('answers an image URL as the image itself, its file name as og:description', async () => {
    const fetcher = fakeFetcher({ 'https://site.example/b.png': png('https://site.example/b.png', 9, 'b.png') });
    const { images } = recordingImages();
    const previews = createUrlPreviews({ fetcher, images, clock });
    expect(await previews.preview({ userId: '@a:strata.test', url: 'https://site.example/b.png' })).toEqual({
      'og:description': 'b.png', 'og:image': 'mxc://strata.test/img1', 'og:image:type': 'image/png', 'og:image:width': 4, 'og:image:height': 3, 'matrix:image:size': 9,
    });
  });

  it('answers no og:image without an image store, nor when the image cannot be fetched', async () => {
    const page = html('https://site.example/', '<title>T</title><img src="/gone.png">');
    expect(await createUrlPreviews({ fetcher: fakeFetcher({ 'https://site.example/': page }), clock }).preview({ userId: '@a:x', url: 'https://site.example/' }))
      .toEqual({ 'og:title': 'T' });
    const { images } = recordingImages();
    expect(await createUrlPreviews({ fetcher: fakeFetcher({ 'https://site.example/': page }), images, clock }).preview({ userId: '@a:x', url: 'https://site.example/' }))
      .toEqual({ 'og:title': 'T' });
  });

  it('remembers a preview for an hour and joins concurrent requests for one URL', async () => {
    const fetcher = fakeFetcher({ 'https://site.example/': html('https://site.example/', '<title>Once</title>') });
    const previews = createUrlPreviews({ fetcher, clock });
    const [a, b] = await Promise.all([previews.preview({ userId: '@a:x', url: 'https://site.example/' }), previews.preview({ userId: '@b:x', url: 'https://site.example/' })]);
    expect(a).toEqual({ 'og:title': 'Once' });
    expect(b).toEqual(a);
    now += 59 * 60 * 1000;
    await previews.preview({ userId: '@a:x', url: 'https://site.example/', ts: 1 });
    expect(fetcher.asked).toEqual(['https://site.example/']);
    now += 2 * 60 * 1000;
    await previews.preview({ userId: '@a:x', url: 'https://site.example/' });
    expect(fetcher.asked).toHaveLength(2);
  });

  it('remembers a failure for a minute only', async () => {
    const fetcher = fakeFetcher({});
    const previews = createUrlPreviews({ fetcher, clock });
    expect((await errorOf(previews.preview({ userId: '@a:x', url: 'https://down.example/' }))).status).toBe(502);
    await errorOf(previews.preview({ userId: '@a:x', url: 'https://down.example/' }));
    expect(fetcher.asked).toHaveLength(1);
    now += 61 * 1000;
    await errorOf(previews.preview({ userId: '@a:x', url: 'https://down.example/' }));
    expect(fetcher.asked).toHaveLength(2);
  });

  it("maps each fetch failure to Synapse's answer", async () => {
    const failing = (reason: Extract<UrlFetchResult, { ok: false }>['reason'], message: string) =>
      createUrlPreviews({ fetcher: { fetch: async () => ({ ok: false, reason, message }) }, clock }).preview({ userId: '@a:x', url: 'https://x.example/' });
    expect(await errorOf(failing('blockedIp', 'x'))).toMatchObject({ status: 403, errcode: 'M_UNKNOWN', message: 'IP address blocked by IP blacklist entry' });
    expect(await errorOf(failing('dns', 'x'))).toMatchObject({ status: 502, errcode: 'M_UNKNOWN', message: 'DNS resolution failure during URL preview generation' });
    expect(await errorOf(failing('tooLarge', 'Requested file is too large > 10 bytes'))).toMatchObject({ status: 502, errcode: 'M_TOO_LARGE' });
    expect(await errorOf(failing('status', 'Got error 500'))).toMatchObject({ status: 502, errcode: 'M_UNKNOWN', message: 'Got error 500' });
    expect(await errorOf(failing('contentType', 'no'))).toMatchObject({ status: 502, errcode: 'M_UNKNOWN' });
  });

  it('refuses URLs that are not absolute http(s), too long or blacklisted, without fetching', async () => {
    const fetcher = fakeFetcher({});
    const previews = createUrlPreviews({ fetcher, clock, urlBlacklist: [{ hostname: 'blocked.example' }] });
    for (const url of ['not a url', 'ftp://x.example/', 'file:///etc/passwd', `https://x.example/${'a'.repeat(2100)}`]) {
      expect(await errorOf(previews.preview({ userId: '@a:x', url }))).toMatchObject({ status: 400, errcode: 'M_INVALID_PARAM' });
    }
    expect(await errorOf(previews.preview({ userId: '@a:x', url: 'https://blocked.example/page' })))
      .toMatchObject({ status: 403, errcode: 'M_UNKNOWN', message: 'URL blocked by url pattern blacklist entry' });
    expect(fetcher.asked).toEqual([]);
  });

  it('prunes overlong keys and values, and answers {} for JSON', async () => {
    const long = 'x'.repeat(1001);
    const fetcher = fakeFetcher({
      'https://site.example/': html('https://site.example/', `<meta property="og:title" content="ok"><meta property="og:${'k'.repeat(60)}" content="v"><meta property="og:site_name" content="${long}">`),
      'https://site.example/j': { ok: true, resource: { url: 'https://site.example/j', status: 200, mediaType: 'application/json', body: new Uint8Array() } satisfies FetchedResource },
    });
    const previews = createUrlPreviews({ fetcher, clock });
    expect(await previews.preview({ userId: '@a:x', url: 'https://site.example/' })).toEqual({ 'og:title': 'ok' });
    expect(await previews.preview({ userId: '@a:x', url: 'https://site.example/j' })).toEqual({});
  });
});

describe('createUrlPreviews with a store', () => {
  const memoryStore = () => {
    const rows: { url: string; og: Record<string, string | number>; downloadTs: number; expiresTs: number }[] = [];
    const store: UrlPreviewCache = {
      previewAt: async (url, ts) => {
        const mine = rows.filter((row) => row.url === url).sort((a, b) => a.downloadTs - b.downloadTs);
        return [...mine].reverse().find((row) => row.downloadTs <= ts) ?? mine.find((row) => row.downloadTs > ts);
      },
      keep: async (url, preview) => {
        rows.push({ url, ...preview, og: { ...preview.og } });
      },
      forgetExpired: async () => 0,
    };
    return { rows, store };
  };

  it('keeps what it fetched and answers it after a restart (a new memory cache)', async () => {
    let now = 5_000_000;
    const clock = { now: () => now };
    const { rows, store } = memoryStore();
    const fetcher = fakeFetcher({ 'https://site.example/': html('https://site.example/', '<title>Kept</title>') });
    await createUrlPreviews({ fetcher, clock, store }).preview({ userId: '@a:x', url: 'https://site.example/' });
    expect(rows).toEqual([{ url: 'https://site.example/', og: { 'og:title': 'Kept' }, downloadTs: now, expiresTs: now + 3_600_000 }]);
    now += 1_000;
    expect(await createUrlPreviews({ fetcher, clock, store }).preview({ userId: '@a:x', url: 'https://site.example/' })).toEqual({ 'og:title': 'Kept' });
    expect(fetcher.asked).toHaveLength(1);
  });

  it('answers the preview that held at ts, and fetches anew once the kept one expired', async () => {
    const clock = { now: () => 10_000_000 };
    const { rows, store } = memoryStore();
    rows.push({ url: 'https://site.example/', og: { 'og:title': 'Old' }, downloadTs: 1_000_000, expiresTs: 4_600_000 });
    const fetcher = fakeFetcher({ 'https://site.example/': html('https://site.example/', '<title>New</title>') });
    expect(await createUrlPreviews({ fetcher, clock, store }).preview({ userId: '@a:x', url: 'https://site.example/', ts: 2_000_000 })).toEqual({ 'og:title': 'Old' });
    expect(fetcher.asked).toEqual([]);
    expect(await createUrlPreviews({ fetcher, clock, store }).preview({ userId: '@a:x', url: 'https://site.example/' })).toEqual({ 'og:title': 'New' });
    expect(fetcher.asked).toHaveLength(1);
  });
});

describe('createUrlPreviews with oEmbed', () => {
  it("merges the oEmbed a page links to under the page's own OpenGraph, the author standing in for a missing title", async () => {
    const clock = { now: () => 1 };
    const fetcher = fakeFetcher({
      'https://video.example/watch': html('https://video.example/watch',
        '<link rel="alternate" type="application/json+oembed" href="/oembed"><meta property="og:description" content="From the page">'),
      'https://video.example/oembed': { ok: true, resource: { url: 'https://video.example/oembed', status: 200, mediaType: 'application/json', body: new TextEncoder().encode(JSON.stringify({
        type: 'video', author_name: 'Speaker', provider_name: 'Videos', html: '<p>From oEmbed</p>',
      })) } },
    });
    expect(await createUrlPreviews({ fetcher, clock }).preview({ userId: '@a:x', url: 'https://video.example/watch' })).toEqual({
      'og:title': 'Speaker', 'og:site_name': 'Videos', 'og:type': 'video.other', 'og:description': 'From the page',
    });
  });

  it("keeps the preview as long as the oEmbed's cache_age says, a day at most", async () => {
    const kept: number[] = [];
    const store: UrlPreviewCache = { previewAt: async () => undefined, keep: async (_url, preview) => { kept.push(preview.expiresTs - preview.downloadTs); }, forgetExpired: async () => 0 };
    const page = (url: string, cacheAge: number): Record<string, UrlFetchResult> => ({
      [url]: html(url, `<link rel="alternate" type="application/json+oembed" href="${url}oembed"><title>P</title>`),
      [`${url}oembed`]: { ok: true, resource: { url: `${url}oembed`, status: 200, mediaType: 'application/json', body: new TextEncoder().encode(JSON.stringify({ type: 'link', cache_age: cacheAge })) } },
    });
    const fetcher = fakeFetcher({ ...page('https://a.example/', 300), ...page('https://b.example/', 7 * 86_400) });
    const previews = createUrlPreviews({ fetcher, clock: { now: () => 1 }, store });
    await previews.preview({ userId: '@a:x', url: 'https://a.example/' });
    await previews.preview({ userId: '@a:x', url: 'https://b.example/' });
    expect(kept).toEqual([300_000, 86_400_000]);
  });

  it('previews the page alone when its oEmbed cannot be had', async () => {
    const fetcher = fakeFetcher({ 'https://video.example/watch': html('https://video.example/watch', '<link rel="alternate" type="application/json+oembed" href="/gone"><title>Page</title>') });
    expect(await createUrlPreviews({ fetcher, clock: { now: () => 1 } }).preview({ userId: '@a:x', url: 'https://video.example/watch' })).toEqual({ 'og:title': 'Page' });
    expect(fetcher.asked).toEqual(['https://video.example/watch', 'https://video.example/gone']);
  });
});

describe('createUrlPreviews under load', () => {
  it('fetches 16 URLs at once, queues 256 more and refuses the rest with 429, remembering no refusal', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const fetcher = {
      fetch: (url: string) => new Promise<UrlFetchResult>((resolve) => {
        started.push(url);
        release.push(() => resolve(html(url, '<title>t</title>')));
      }),
    };
    const previews = createUrlPreviews({ fetcher, clock: { now: () => 1 } });
    const answers = Array.from({ length: 16 + 256 }, (_, i) => previews.preview({ userId: '@a:x', url: `https://site${i}.example/` }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toHaveLength(16);
    const refused = await errorOf(previews.preview({ userId: '@a:x', url: 'https://busy.example/' }));
    expect(refused).toMatchObject({ status: 429, errcode: 'M_LIMIT_EXCEEDED' });
    release.shift()!();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toHaveLength(17);
    while (release.length > 0) {
      release.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    expect(await Promise.all(answers)).toHaveLength(272);
    const retried = previews.preview({ userId: '@a:x', url: 'https://busy.example/' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    release.shift()!();
    expect(await retried).toEqual({ 'og:title': 't' });
  });
});

describe('createUrlPreviews with inline images', () => {
  it("keeps a page's data: og:image as media without fetching it", async () => {
    const fetcher = fakeFetcher({ 'https://site.example/': html('https://site.example/', '<title>Inline</title><img src="data:image/png;base64,iVBORw0K">') });
    const { stored, images } = recordingImages();
    expect(await createUrlPreviews({ fetcher, images, clock: { now: () => 1 } }).preview({ userId: '@a:x', url: 'https://site.example/' })).toEqual({
      'og:title': 'Inline', 'og:image': 'mxc://strata.test/img1', 'og:image:type': 'image/png', 'og:image:width': 4, 'og:image:height': 3, 'matrix:image:size': 6,
    });
    expect(stored).toEqual([{ userId: '@a:x', mediaType: 'image/png', size: 6 }]);
    expect(fetcher.asked).toEqual(['https://site.example/']);
  });
});

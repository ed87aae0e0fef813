import { describe, expect, it } from 'vitest';
import { charsetOfContentType, decodeHtml, declaredCharset, openGraphFromHtml, summarizeParagraphs } from './html.ts';

const PAGE = 'https://example.org/articles/one.html';

describe('openGraphFromHtml', () => {
  it('reads og:, article: and profile: properties, entities decoded, og:image made absolute', () => {
    const og = openGraphFromHtml(`<html><head>
      <meta property="og:title" content="Tom &amp; Jerry">
      <meta property="og:description" content="A cat and a mouse">
      <meta property="og:image" content="/img/cover.png">
      <meta property="og:image:width" content="640">
      <meta property="article:author" content="Hanna">
      <meta property="profile:username" content="hb">
      <meta property="og:empty" content="  ">
      <title>ignored</title></head><body>text</body></html>`, PAGE);
    expect(og).toEqual({
      'og:title': 'Tom & Jerry',
      'og:description': 'A cat and a mouse',
      'og:image': 'https://example.org/img/cover.png',
      'og:image:width': '640',
      'article:author': 'Hanna',
      'profile:username': 'hb',
    });
  });

  it('takes twitter: cards where OpenGraph says nothing, never twitter:card, :site or :creator', () => {
    const og = openGraphFromHtml(`<meta property="og:title" content="OG title">
      <meta name="twitter:title" content="Twitter title">
      <meta name="twitter:description" content="Twitter description">
      <meta name="twitter:card" content="summary"><meta name="twitter:site" content="@x">`, PAGE);
    expect(og).toEqual({ 'og:title': 'OG title', 'og:description': 'Twitter description' });
  });

  it('falls back to <title>, then the first heading, for og:title', () => {
    expect(openGraphFromHtml('<head><title> The  title </title></head><body><h1>Heading</h1></body>', PAGE)['og:title']).toBe('The  title');
    expect(openGraphFromHtml('<body><p>intro</p><h2>Second level</h2><h1>First</h1></body>', PAGE)['og:title']).toBe('Second level');
    expect(openGraphFromHtml('<body><p>nothing</p></body>', PAGE)).not.toHaveProperty('og:title');
  });

  it('falls back to meta description, then the body text, for og:description', () => {
    expect(openGraphFromHtml('<meta name="Description" content="Meta says"><body>Body says</body>', PAGE)['og:description']).toBe('Meta says');
    const og = openGraphFromHtml(`<html><head><title>T</title><style>p{}</style></head><body>
      <nav>Menu</nav><script>var x = 1;</script><p>First paragraph.</p><footer>Footer</footer><p>Second one.</p></body></html>`, PAGE);
    expect(og['og:description']).toBe('First paragraph.\n\nSecond one.');
  });

  it('falls back to an itemprop image, then the largest sized <img>, then any <img>, then the icon', () => {
    expect(openGraphFromHtml('<meta itemprop="image" content="https://cdn.example/i.jpg"><img src="a.png">', PAGE)['og:image']).toBe('https://cdn.example/i.jpg');
    expect(openGraphFromHtml('<img src="tiny.png" width="5" height="5"><img src="small.png" width="20" height="20"><img src="big.png" width="100" height="50">', PAGE)['og:image'])
      .toBe('https://example.org/articles/big.png');
    expect(openGraphFromHtml('<img src="tiny.png" width="5" height="5"><img src="other.png">', PAGE)['og:image']).toBe('https://example.org/articles/tiny.png');
    expect(openGraphFromHtml('<link rel="shortcut icon" href="/favicon.ico">', PAGE)['og:image']).toBe('https://example.org/favicon.ico');
  });

  it('resolves against <base href> and drops images that are not http(s) or data URLs', () => {
    expect(openGraphFromHtml('<base href="https://static.example/x/"><img src="y.png">', PAGE)['og:image']).toBe('https://static.example/x/y.png');
    expect(openGraphFromHtml('<meta property="og:image" content="javascript:alert(1)">', PAGE)).not.toHaveProperty('og:image');
  });

  it('gives up on a prefix with more than 50 tags, as Synapse', () => {
    const many = Array.from({ length: 51 }, (_, i) => `<meta property="og:k${i}" content="v">`).join('');
    const og = openGraphFromHtml(`${many}<title>Fallback</title>`, PAGE);
    expect(Object.keys(og).filter((key) => key.startsWith('og:k'))).toEqual([]);
    expect(og['og:title']).toBe('Fallback');
  });

  it('survives broken markup', () => {
    expect(openGraphFromHtml('<html><head><title>Unclosed <meta property="og:type" content="x"', PAGE)).toEqual(expect.any(Object));
    expect(openGraphFromHtml('', PAGE)).toEqual({});
  });
});

describe('summarizeParagraphs', () => {
  it('keeps whole paragraphs to 200 characters and cuts past 500 at a word, with an ellipsis', () => {
    expect(summarizeParagraphs(['short', 'two'])).toBe('short\n\ntwo');
    const long = summarizeParagraphs([`${'word '.repeat(150)}`])!;
    expect(long.length).toBeLessThanOrEqual(501);
    expect(long.endsWith('word…')).toBe(true);
    expect(summarizeParagraphs([])).toBeUndefined();
  });
});

describe('decodeHtml', () => {
  const latin1 = new Uint8Array([...new TextEncoder().encode('<title>caf'), 0xe9, ...new TextEncoder().encode('</title>')]);

  it('decodes with the Content-Type charset first', () => {
    expect(decodeHtml(latin1, 'iso-8859-1')).toBe('<title>café</title>');
  });

  it('then with the charset the page declares in <meta>', () => {
    const page = new Uint8Array([...new TextEncoder().encode('<meta charset="windows-1252"><title>caf'), 0xe9, ...new TextEncoder().encode('</title>')]);
    expect(decodeHtml(page, undefined)).toContain('café');
    const httpEquiv = new Uint8Array([...new TextEncoder().encode('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">caf'), 0xe9]);
    expect(declaredCharset(httpEquiv)).toBe('ISO-8859-1');
    expect(decodeHtml(httpEquiv, undefined)).toContain('café');
  });

  it('reads UTF-8 otherwise, and an unknown label counts as absent', () => {
    expect(decodeHtml(new TextEncoder().encode('<p>Grüße</p>'), 'no-such-charset')).toBe('<p>Grüße</p>');
  });

  it('lets a byte order mark win', () => {
    expect(decodeHtml(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('ü')]), 'iso-8859-1')).toBe('ü');
  });
});

describe('charsetOfContentType', () => {
  it('reads the charset parameter, quoted or not', () => {
    expect(charsetOfContentType('text/html; charset=UTF-8')).toBe('UTF-8');
    expect(charsetOfContentType('text/html;Charset="koi8-r"')).toBe('koi8-r');
    expect(charsetOfContentType('text/html')).toBeUndefined();
  });
});

/**
 * Synapse's `url_preview_url_blacklist`: a URL is refused when every attribute of one entry matches
 * its part of the URL (Python's urlsplit names: scheme, netloc, hostname, port, path, query,
 * fragment, username, password). A pattern starting with `^` is a regular expression, anything
 * else a glob (`*`, `?`).
 */
export type UrlBlacklistEntry = Readonly<Record<string, string>>;

export const URL_BLACKLIST_ATTRIBUTES = ['scheme', 'netloc', 'hostname', 'port', 'path', 'query', 'fragment', 'username', 'password'] as const;

/** The part of the URL an attribute names; undefined when the URL has none (never matches). */
const part = (url: URL, attribute: string): string | undefined => {
  switch (attribute) {
    case 'scheme': return url.protocol.slice(0, -1);
    case 'netloc': return url.host;
    case 'hostname': return url.hostname.replace(/^\[(.*)\]$/, '$1');
    case 'port': return url.port === '' ? undefined : url.port;
    case 'path': return url.pathname;
    case 'query': return url.search.slice(1);
    case 'fragment': return url.hash.slice(1);
    case 'username': return url.username === '' ? undefined : decodeURIComponent(url.username);
    case 'password': return url.password === '' ? undefined : decodeURIComponent(url.password);
    default: return undefined;
  }
};

/** A glob as an anchored regular expression (fnmatch: `*` any run, `?` one character). */
const globRegExp = (glob: string): RegExp =>
  new RegExp(`^${[...glob].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('')}$`);

const matches = (value: string, pattern: string): boolean =>
  // Python's re.match anchors at the start only; a `^` pattern says so itself.
  (pattern.startsWith('^') ? new RegExp(pattern).test(value) : globRegExp(pattern).test(value));

/** A problem with an entry (an unknown attribute, an invalid expression), for the config check. */
export const urlBlacklistEntryProblem = (entry: UrlBlacklistEntry): string | undefined => {
  for (const [attribute, pattern] of Object.entries(entry)) {
    if (!(URL_BLACKLIST_ATTRIBUTES as readonly string[]).includes(attribute)) return `unknown URL attribute "${attribute}" (one of ${URL_BLACKLIST_ATTRIBUTES.join(', ')})`;
    if (pattern.startsWith('^')) {
      try {
        new RegExp(pattern);
      } catch {
        return `"${pattern}" is not a regular expression`;
      }
    }
  }
  return undefined;
};

export const isUrlBlacklisted = (urlText: string, entries: readonly UrlBlacklistEntry[]): boolean => {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return false;
  }
  return entries.some((entry) => Object.entries(entry).every(([attribute, pattern]) => {
    const value = part(url, attribute);
    return value !== undefined && matches(value, pattern);
  }));
};

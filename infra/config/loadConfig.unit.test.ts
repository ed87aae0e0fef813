import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env } from './index.ts';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const withFile = (text: string) => (path: string): string => {
  if (path !== '/etc/strata.yaml') throw new Error(`unexpected path ${path}`);
  return text;
};
const errorOf = (env: Env, readFile = noFile): string => {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
};
const FILE = { STRATA_CONFIG: '/etc/strata.yaml' };

describe('loadConfig defaults', () => {
  it('gives a complete embedded-mode config with no file and no variables', () => {
    expect(loadConfig({}, noFile)).toEqual({
      serverName: 'localhost',
      listen: { host: '127.0.0.1', port: 8008 },
      dataDir: './data',
      registration: 'disabled',
      allowGuestAccess: false,
      logLevel: 'info',
      searchLanguage: 'simple',
      rateLimits: {
        login: { perSecond: 0.2, burst: 5 },
        registration: { perSecond: 0.17, burst: 3 },
        messages: null,
        threepidValidation: { perSecond: 0.003, burst: 5 },
        mediaCreate: { perSecond: 10, burst: 50 },
      },
      maxUploadSize: 50 * 1024 * 1024,
      maxImagePixels: 32 * 1024 * 1024,
      thumbnailSizes: [
        { width: 32, height: 32, method: 'crop' }, { width: 96, height: 96, method: 'crop' }, { width: 320, height: 240, method: 'scale' },
        { width: 640, height: 480, method: 'scale' }, { width: 800, height: 600, method: 'scale' },
      ],
      redactionRetentionMs: 7 * 86_400_000,
      syncResponseIntervalMs: 20,
      retention: null,
      websocket: { maxSocketsPerUser: 10, maxBufferedBytes: 8 * 1024 * 1024, heartbeatIntervalMs: 30_000 },
      analytics: { analysts: [], exportMaxRows: 10_000_000 },
      federation: { verifyCertificates: true, ipRangeWhitelist: [], trustedKeyServers: [] },
      trustedIdServers: [],
      urlPreview: { enabled: false, ipRangeWhitelist: [], urlBlacklist: [], acceptLanguage: ['en'], maxSpiderSize: 10 * 1024 * 1024 },
      appservices: [],
    });
  });

  it('reads allow_guest_access, off by default as in Synapse', () => {
    expect(loadConfig({ STRATA_ALLOW_GUEST_ACCESS: 'true' }, noFile).allowGuestAccess).toBe(true);
    expect(loadConfig({ STRATA_ALLOW_GUEST_ACCESS: 'false' }, noFile).allowGuestAccess).toBe(false);
    expect(errorOf({ STRATA_ALLOW_GUEST_ACCESS: 'yes' })).toContain('allow_guest_access (from STRATA_ALLOW_GUEST_ACCESS)');
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ STRATA_POSTGRES_URL: '', STRATA_KAFKA_BROKERS: '', STRATA_CONFIG: '' }, noFile);
    expect(config.postgresUrl).toBeUndefined();
    expect(config.kafkaBrokers).toBeUndefined();
  });

  it('reads public_base_url, an http(s) URL, left unset by default', () => {
    expect(loadConfig({}, noFile).publicBaseUrl).toBeUndefined();
    expect(loadConfig({ STRATA_PUBLIC_BASE_URL: 'https://matrix.example.org' }, noFile).publicBaseUrl).toBe('https://matrix.example.org');
    expect(errorOf({ STRATA_PUBLIC_BASE_URL: 'ftp://example.org' })).toContain('public_base_url (from STRATA_PUBLIC_BASE_URL)');
  });
});

describe('loadConfig from the environment', () => {
  it('reads every STRATA_* variable', () => {
    const config = loadConfig({
      STRATA_SERVER_NAME: 'example.org:8448',
      STRATA_LISTEN: '[::1]:9008',
      STRATA_DATA_DIR: '/var/lib/strata',
      STRATA_REGISTRATION: 'open',
      STRATA_REGISTRATION_SHARED_SECRET: 's3cret',
      STRATA_KAFKA_BROKERS: 'k1:9092, k2:9092,',
      STRATA_KAFKA_NAMESPACE: 'tenant-a',
      STRATA_POSTGRES_URL: 'postgres://u:p@db:5432/strata',
      STRATA_CLICKHOUSE_URL: 'http://ch:8123',
      STRATA_LOG_LEVEL: 'debug',
      STRATA_SEARCH_LANGUAGE: 'english',
    }, noFile);
    expect(config).toMatchObject({
      serverName: 'example.org:8448',
      listen: { host: '::1', port: 9008 },
      dataDir: '/var/lib/strata',
      registration: 'open',
      registrationSharedSecret: 's3cret',
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      kafkaNamespace: 'tenant-a',
      postgresUrl: 'postgres://u:p@db:5432/strata',
      clickhouse: { url: 'http://ch:8123', database: 'strata' },
      logLevel: 'debug',
      searchLanguage: 'english',
    });
  });

  it.each([
    'matrix.org', 'matrix.org:8888', '1.2.3.4', '1.2.3.4:1234', '[1234:5678::abcd]', '[1234:5678::abcd]:5678', 'localhost',
  ])('accepts the spec example server name %s', (name) => {
    expect(loadConfig({ STRATA_SERVER_NAME: name }, noFile).serverName).toBe(name);
  });

  it.each([
    ['exa mple.org', 'invalid hostname'],
    ['example.org:', 'invalid port'],
    ['example.org:123456', 'invalid port'],
    ['example.org:70000', 'port 70000 is out of range'],
    ['256.1.1.1', 'IPv4 octet above 255'],
    ['[1234:zz::1]', 'invalid IPv6 literal'],
    ['[::1', 'unterminated IPv6 literal'],
    ['example_org', 'invalid hostname'],
  ])('rejects the server name %s', (name, problem) => {
    const message = errorOf({ STRATA_SERVER_NAME: name });
    expect(message).toContain('server_name (from STRATA_SERVER_NAME)');
    expect(message).toContain(problem);
  });

  it.each([
    ['8008', 'expected host:port'],
    ['::1:8008', 'put IPv6 addresses in brackets'],
    ['127.0.0.1:http', 'is not a number'],
    ['[::1]8008', 'unexpected "8008"'],
  ])('rejects the listen address %s', (listen, problem) => {
    const message = errorOf({ STRATA_LISTEN: listen });
    expect(message).toContain('listen (from STRATA_LISTEN)');
    expect(message).toContain(problem);
  });

  it('names each bad key in one line', () => {
    const message = errorOf({ STRATA_REGISTRATION: 'maybe', STRATA_LOG_LEVEL: 'loud', STRATA_POSTGRES_URL: 'mysql://x' });
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^invalid config: /);
    expect(message).toContain('registration (from STRATA_REGISTRATION): Expected "disabled" | "open"');
    expect(message).toContain('log_level (from STRATA_LOG_LEVEL)');
    expect(message).toContain('postgres_url (from STRATA_POSTGRES_URL): expected a postgres or postgresql URL');
  });

  it('rejects a broker that is not host:port', () => {
    expect(errorOf({ STRATA_KAFKA_NAMESPACE: 'a.b' })).toContain('kafka_namespace (from STRATA_KAFKA_NAMESPACE)');
    expect(errorOf({ STRATA_KAFKA_BROKERS: 'k1:9092,k2' })).toContain('kafka_brokers[1] (from STRATA_KAFKA_BROKERS): broker "k2" is not host:port');
  });
});

describe('loadConfig from a YAML file', () => {
  const yaml = [
    'server_name: example.org',
    'listen: 0.0.0.0:8448',
    'data_dir: /srv/strata',
    'kafka_brokers: [k1:9092, k2:9092]',
    'postgres_url: postgresql://db/strata',
    'clickhouse_url: https://ch:8443',
    'clickhouse_database: analytics',
    'rate_limits:',
    '  login: { per_second: 1, burst: 10 }',
    '  registration: null',
    '  messages: { per_second: 0.5, burst: 20 }',
  ].join('\n');

  it('reads snake_case keys, kafka_brokers as a list and rate limits', () => {
    expect(loadConfig(FILE, withFile(yaml))).toMatchObject({
      serverName: 'example.org',
      listen: { host: '0.0.0.0', port: 8448 },
      dataDir: '/srv/strata',
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      postgresUrl: 'postgresql://db/strata',
      clickhouse: { url: 'https://ch:8443', database: 'analytics' },
      rateLimits: { login: { perSecond: 1, burst: 10 }, registration: null, messages: { perSecond: 0.5, burst: 20 } },
    });
  });

  it('lets environment variables override the file', () => {
    const config = loadConfig({ ...FILE, STRATA_SERVER_NAME: 'other.org', STRATA_KAFKA_BROKERS: 'k3:9092' }, withFile(yaml));
    expect(config.serverName).toBe('other.org');
    expect(config.kafkaBrokers).toEqual(['k3:9092']);
    expect(config.dataDir).toBe('/srv/strata');
  });

  it('keeps the default rate limits for keys the file leaves out, and false turns one off', () => {
    const config = loadConfig(FILE, withFile('rate_limits:\n  login: false\n'));
    expect(config.rateLimits).toEqual({
      login: null, registration: { perSecond: 0.17, burst: 3 }, messages: null, threepidValidation: { perSecond: 0.003, burst: 5 },
      mediaCreate: { perSecond: 10, burst: 50 },
    });
  });

  it('reads max_upload_size as bytes or with a K/M/G suffix (powers of 1024), and refuses anything else', () => {
    expect(loadConfig(FILE, withFile('max_upload_size: 1000\n')).maxUploadSize).toBe(1000);
    expect(loadConfig(FILE, withFile('max_upload_size: 10M\n')).maxUploadSize).toBe(10 * 1024 * 1024);
    expect(loadConfig({ STRATA_MAX_UPLOAD_SIZE: '2g' }, noFile).maxUploadSize).toBe(2 * 1024 ** 3);
    expect(loadConfig({ STRATA_MAX_UPLOAD_SIZE: '4096' }, noFile).maxUploadSize).toBe(4096);
    for (const bad of ['0', '-5', '10 MB', '1.5M']) expect(errorOf({ STRATA_MAX_UPLOAD_SIZE: bad })).toContain('max_upload_size');
  });

  it('reads max_image_pixels as max_upload_size, and thumbnail_sizes as Synapse\'s list', () => {
    expect(loadConfig(FILE, withFile('max_image_pixels: 1M\n')).maxImagePixels).toBe(1024 * 1024);
    expect(loadConfig({ STRATA_MAX_IMAGE_PIXELS: '5000' }, noFile).maxImagePixels).toBe(5000);
    expect(errorOf({ STRATA_MAX_IMAGE_PIXELS: '0' })).toContain('max_image_pixels');
    const sizes = loadConfig(FILE, withFile('thumbnail_sizes:\n  - { width: 48, height: 48, method: crop }\n  - { width: 200, height: 100, method: scale }\n'));
    expect(sizes.thumbnailSizes).toEqual([{ width: 48, height: 48, method: 'crop' }, { width: 200, height: 100, method: 'scale' }]);
    for (const bad of ['[{ width: 0, height: 1, method: crop }]', '[{ width: 10, height: 10, method: zoom }]', '[{ width: 10, method: crop }]']) {
      expect(() => loadConfig(FILE, withFile(`thumbnail_sizes: ${bad}\n`))).toThrow(/thumbnail_sizes/);
    }
  });

  it('accepts an empty file', () => {
    expect(loadConfig(FILE, withFile('')).serverName).toBe('localhost');
  });

  it('names the key and the file for a bad value', () => {
    const message = errorOf(FILE, withFile('rate_limits:\n  login: { per_second: 0, burst: 1.5 }\n'));
    expect(message).toContain('rate_limits.login.per_second (from /etc/strata.yaml)');
    expect(message).toContain('rate_limits.login.burst (from /etc/strata.yaml)');
  });

  it('reads sync_response_interval_ms, from 0 (answer at once) to a second', () => {
    expect(loadConfig(FILE, withFile('sync_response_interval_ms: 0\n')).syncResponseIntervalMs).toBe(0);
    expect(loadConfig(FILE, withFile('sync_response_interval_ms: 250\n')).syncResponseIntervalMs).toBe(250);
    for (const bad of ['-1', '1001', '2.5', '"20"']) {
      expect(() => loadConfig(FILE, withFile(`sync_response_interval_ms: ${bad}\n`))).toThrow(/sync_response_interval_ms/);
    }
  });

  it('rejects unknown keys (typos)', () => {
    expect(errorOf(FILE, withFile('server_nmae: example.org\n'))).toContain('server_nmae (from /etc/strata.yaml): unknown key');
  });

  it('rejects a value of the wrong type', () => {
    expect(errorOf(FILE, withFile('kafka_brokers: k1:9092\n'))).toContain('kafka_brokers (from /etc/strata.yaml)');
  });

  it('reports a missing file, invalid YAML and a non-mapping document in one line each', () => {
    expect(errorOf(FILE)).toBe('cannot read config file /etc/strata.yaml (STRATA_CONFIG): ENOENT');
    const invalid = errorOf(FILE, withFile('a: [\n'));
    expect(invalid).toMatch(/^config file \/etc\/strata.yaml is not valid YAML: /);
    expect(invalid).not.toContain('\n');
    expect(errorOf(FILE, withFile('- 1\n'))).toBe('config file /etc/strata.yaml must be a mapping of keys to values');
  });
});

describe('support (/.well-known/matrix/support, support.yaml)', () => {
  it('is unset by default and read from the file in camelCase', () => {
    expect(loadConfig({}, noFile).support).toBeUndefined();
    const config = loadConfig(FILE, withFile([
      'support:',
      '  contacts:',
      '    - { matrix_id: "@admin:example.org", email_address: admin@example.org, role: m.role.admin }',
      '    - { email_address: security@example.org, role: m.role.security }',
      '  support_page: https://example.org/support.html',
    ].join('\n')));
    expect(config.support).toEqual({
      contacts: [
        { matrixId: '@admin:example.org', emailAddress: 'admin@example.org', role: 'm.role.admin' },
        { emailAddress: 'security@example.org', role: 'm.role.security' },
      ],
      supportPage: 'https://example.org/support.html',
    });
    expect(loadConfig(FILE, withFile('support: { support_page: "https://example.org/help" }\n')).support)
      .toEqual({ contacts: [], supportPage: 'https://example.org/help' });
  });

  it('names the key of what support.yaml forbids', () => {
    expect(errorOf(FILE, withFile('support: { contacts: [] }\n'))).toContain('support (from /etc/strata.yaml): needs at least one contact or a support_page');
    expect(errorOf(FILE, withFile('support: { contacts: [{ role: m.role.admin }] }\n')))
      .toContain('support.contacts[0] (from /etc/strata.yaml): needs matrix_id or email_address');
    expect(errorOf(FILE, withFile('support: { contacts: [{ matrix_id: admin, role: m.role.admin }] }\n')))
      .toContain('support.contacts[0].matrix_id (from /etc/strata.yaml)');
    expect(errorOf(FILE, withFile('support: { contacts: [{ email_address: a@example.org }] }\n')))
      .toContain('support.contacts[0].role (from /etc/strata.yaml)');
    expect(errorOf(FILE, withFile('support: { support_page: "ftp://example.org" }\n')))
      .toContain('support.support_page (from /etc/strata.yaml)');
  });
});

describe('websocket (bounds of the WebSocket streams)', () => {
  it('reads max_sockets_per_user, max_buffered_size and heartbeat_interval', () => {
    const yaml = 'websocket:\n  max_sockets_per_user: 3\n  max_buffered_size: 512K\n  heartbeat_interval: 1m\n';
    expect(loadConfig(FILE, withFile(yaml)).websocket).toEqual({ maxSocketsPerUser: 3, maxBufferedBytes: 512 * 1024, heartbeatIntervalMs: 60_000 });
    expect(loadConfig(FILE, withFile('websocket:\n  max_buffered_size: 100000\n')).websocket.maxBufferedBytes).toBe(100_000);
  });

  it('names the key of a bad bound', () => {
    expect(errorOf(FILE, withFile('websocket:\n  max_sockets_per_user: 0\n'))).toContain('websocket.max_sockets_per_user');
    expect(errorOf(FILE, withFile('websocket:\n  max_buffered_size: lots\n'))).toContain('websocket.max_buffered_size');
    expect(errorOf(FILE, withFile('websocket:\n  heartbeat_interval: 10ms\n'))).toContain('must be between 1s and 1h');
    expect(errorOf(FILE, withFile('websocket:\n  ping: 1\n'))).toContain('websocket.ping');
  });
});

describe('analytics (analysts besides admins, export bounds)', () => {
  it('reads analysts and export_max_rows from the file, analysts from STRATA_ANALYTICS_ANALYSTS', () => {
    const yaml = 'analytics:\n  analysts: ["@ana:example.org", "@ana:example.org", "@bob:example.org"]\n  export_max_rows: 5000\n';
    expect(loadConfig(FILE, withFile(yaml)).analytics).toEqual({ analysts: ['@ana:example.org', '@bob:example.org'], exportMaxRows: 5000 });
    expect(loadConfig({ ...FILE, STRATA_ANALYTICS_ANALYSTS: ' @eve:example.org, @joe:example.org ' }, withFile(yaml)).analytics)
      .toEqual({ analysts: ['@eve:example.org', '@joe:example.org'], exportMaxRows: 5000 });
  });

  it('names the key of a bad value', () => {
    expect(errorOf(FILE, withFile('analytics:\n  analysts: ["ana"]\n'))).toContain('analytics.analysts[0]');
    expect(errorOf({ STRATA_ANALYTICS_ANALYSTS: 'ana' })).toContain('analytics.analysts[0] (from STRATA_ANALYTICS_ANALYSTS)');
    expect(errorOf(FILE, withFile('analytics:\n  export_max_rows: 0\n'))).toContain('analytics.export_max_rows');
  });
});

describe('metrics (its own listener, optionally a bearer token)', () => {
  it('serves no metrics by default', () => {
    expect(loadConfig({}, noFile).metrics).toBeUndefined();
  });

  it('reads STRATA_METRICS_LISTEN and STRATA_METRICS_TOKEN', () => {
    expect(loadConfig({ STRATA_METRICS_LISTEN: '127.0.0.1:9000', STRATA_METRICS_TOKEN: 'scrape-me_1' }, noFile).metrics)
      .toEqual({ listen: { host: '127.0.0.1', port: 9000 }, token: 'scrape-me_1' });
    expect(loadConfig(FILE, withFile('metrics_listen: "[::1]:9000"\n')).metrics).toEqual({ listen: { host: '::1', port: 9000 } });
  });

  it('names the key of a bad address or token', () => {
    expect(errorOf({ STRATA_METRICS_LISTEN: '9000' })).toContain('metrics_listen (from STRATA_METRICS_LISTEN): expected host:port');
    expect(errorOf({ STRATA_METRICS_LISTEN: '127.0.0.1:9000', STRATA_METRICS_TOKEN: 'has space' }))
      .toContain('metrics_token (from STRATA_METRICS_TOKEN): must be a bearer token');
  });

  it('refuses a token without a metrics listener and a metrics listener on the client port', () => {
    expect(errorOf({ STRATA_METRICS_TOKEN: 'abc' }))
      .toBe('invalid config: metrics_token (from STRATA_METRICS_TOKEN): needs metrics_listen (metrics are served only on their own listener)');
    expect(errorOf({ STRATA_LISTEN: '0.0.0.0:8008', STRATA_METRICS_LISTEN: '127.0.0.1:8008' }))
      .toContain('metrics_listen (from STRATA_METRICS_LISTEN): must differ from listen');
    expect(errorOf(FILE, withFile('metrics_listen: 127.0.0.1:8008\n'))).toContain('metrics_listen (from /etc/strata.yaml): must differ from listen');
    expect(loadConfig({ STRATA_LISTEN: '127.0.0.1:0', STRATA_METRICS_LISTEN: '127.0.0.1:0' }, noFile).metrics?.listen.port).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env } from './index.ts';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const withFile = (text: string) => (path: string): string => {
  if (path !== '/etc/strata.yaml') throw new Error(`unexpected path ${path}`);
  return text;
};
const FILE = { STRATA_CONFIG: '/etc/strata.yaml' };
const errorOf = (env: Env, readFile = noFile): string => {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
};

describe('federation config', () => {
  it('defaults to no listener, verified certificates, no whitelist exceptions and no notary', () => {
    expect(loadConfig({}, noFile).federation).toEqual({ verifyCertificates: true, ipRangeWhitelist: [], trustedKeyServers: [] });
  });

  it('reads every key from the YAML file', () => {
    const yaml = [
      'federation:',
      '  listen: "[::1]:8448"',
      '  tls_certificate_path: /etc/strata/tls.crt',
      '  tls_private_key_path: /etc/strata/tls.key',
      '  verify_certificates: false',
      '  ip_range_whitelist: [127.0.0.0/8, "::1/128", 10.1.2.3]',
      '  domain_whitelist: [matrix.org, "127.0.0.1:18448"]',
      '  trusted_key_servers: [matrix.org]',
    ].join('\n');
    expect(loadConfig(FILE, withFile(yaml)).federation).toEqual({
      listen: { host: '::1', port: 8448 },
      tlsCertificatePath: '/etc/strata/tls.crt',
      tlsPrivateKeyPath: '/etc/strata/tls.key',
      verifyCertificates: false,
      ipRangeWhitelist: ['127.0.0.0/8', '::1/128', '10.1.2.3'],
      domainWhitelist: ['matrix.org', '127.0.0.1:18448'],
      trustedKeyServers: ['matrix.org'],
    });
  });

  it('reads the STRATA_* variables, which override the file key by key', () => {
    const yaml = 'federation:\n  listen: 0.0.0.0:8448\n  trusted_key_servers: [matrix.org]\n  verify_certificates: true\n';
    const config = loadConfig({
      ...FILE,
      STRATA_FEDERATION_LISTEN: '127.0.0.1:18448',
      STRATA_TLS_CERTIFICATE_PATH: '/c.pem',
      STRATA_TLS_PRIVATE_KEY_PATH: '/k.pem',
      STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false',
      STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8, ::1/128,',
      STRATA_FEDERATION_DOMAIN_WHITELIST: 'a.example,b.example:8448',
    }, withFile(yaml));
    expect(config.federation).toEqual({
      listen: { host: '127.0.0.1', port: 18448 },
      tlsCertificatePath: '/c.pem',
      tlsPrivateKeyPath: '/k.pem',
      verifyCertificates: false,
      ipRangeWhitelist: ['127.0.0.0/8', '::1/128'],
      domainWhitelist: ['a.example', 'b.example:8448'],
      // Not set by a variable: the file's value stays.
      trustedKeyServers: ['matrix.org'],
    });
  });

  it.each([
    [{ STRATA_FEDERATION_LISTEN: '8448' }, 'federation.listen (from STRATA_FEDERATION_LISTEN)', 'expected host:port'],
    [{ STRATA_FEDERATION_VERIFY_CERTIFICATES: 'yes' }, 'federation.verify_certificates (from STRATA_FEDERATION_VERIFY_CERTIFICATES)', 'boolean'],
    [{ STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/33' }, 'federation.ip_range_whitelist[0] (from STRATA_FEDERATION_IP_RANGE_WHITELIST)', 'prefix length must be 0–32'],
    [{ STRATA_FEDERATION_IP_RANGE_WHITELIST: '::1/129' }, 'federation.ip_range_whitelist[0] (from STRATA_FEDERATION_IP_RANGE_WHITELIST)', 'prefix length must be 0–128'],
    [{ STRATA_FEDERATION_IP_RANGE_WHITELIST: '10.0.0.0/8,localhost/8' }, 'federation.ip_range_whitelist[1]', '"localhost" is not an IP address'],
    [{ STRATA_FEDERATION_IP_RANGE_WHITELIST: '10.0.0.0/x' }, 'federation.ip_range_whitelist[0]', 'prefix length'],
    [{ STRATA_FEDERATION_DOMAIN_WHITELIST: 'exa mple.org' }, 'federation.domain_whitelist[0] (from STRATA_FEDERATION_DOMAIN_WHITELIST)', 'invalid hostname'],
  ])('refuses %o naming the key', (env, key, problem) => {
    const message = errorOf(env);
    expect(message).toContain(key);
    expect(message).toContain(problem);
  });

  it('names the file and key of a bad value there', () => {
    const message = errorOf(FILE, withFile('federation:\n  trusted_key_servers: ["bad name"]\n  colour: blue\n'));
    expect(message).toContain('federation.trusted_key_servers[0] (from /etc/strata.yaml)');
    expect(message).toContain('federation.colour (from /etc/strata.yaml): unknown key');
  });

  it('needs a certificate and a key together, and a listener for them', () => {
    expect(errorOf({ STRATA_FEDERATION_LISTEN: '127.0.0.1:8448', STRATA_TLS_CERTIFICATE_PATH: '/c.pem' }))
      .toContain('federation.tls_certificate_path (from STRATA_TLS_CERTIFICATE_PATH): needs federation.tls_private_key_path');
    expect(errorOf({ STRATA_FEDERATION_LISTEN: '127.0.0.1:8448', STRATA_TLS_PRIVATE_KEY_PATH: '/k.pem' }))
      .toContain('federation.tls_private_key_path (from STRATA_TLS_PRIVATE_KEY_PATH): needs federation.tls_certificate_path');
    expect(errorOf({ STRATA_TLS_CERTIFICATE_PATH: '/c.pem', STRATA_TLS_PRIVATE_KEY_PATH: '/k.pem' }))
      .toContain('federation.tls_certificate_path (from STRATA_TLS_CERTIFICATE_PATH): needs federation.listen');
  });

  it('reads the federation sender\'s backoff from the file and the variables, whole milliseconds, the cap not below the start', () => {
    expect(loadConfig(FILE, withFile('federation:\n  sender_backoff_start_ms: 500\n  sender_backoff_max_ms: 60000\n')).federation)
      .toMatchObject({ senderBackoffStartMs: 500, senderBackoffMaxMs: 60_000 });
    expect(loadConfig({ STRATA_FEDERATION_SENDER_BACKOFF_START_MS: '100', STRATA_FEDERATION_SENDER_BACKOFF_MAX_MS: '200' }, noFile).federation)
      .toMatchObject({ senderBackoffStartMs: 100, senderBackoffMaxMs: 200 });
    expect(errorOf({ STRATA_FEDERATION_SENDER_BACKOFF_START_MS: '2s' }))
      .toContain('federation.sender_backoff_start_ms (from STRATA_FEDERATION_SENDER_BACKOFF_START_MS)');
    expect(errorOf({ STRATA_FEDERATION_SENDER_BACKOFF_MAX_MS: '0' })).toContain('federation.sender_backoff_max_ms');
    expect(errorOf({ STRATA_FEDERATION_SENDER_BACKOFF_START_MS: '5000', STRATA_FEDERATION_SENDER_BACKOFF_MAX_MS: '1000' }))
      .toContain('federation.sender_backoff_max_ms (from STRATA_FEDERATION_SENDER_BACKOFF_MAX_MS): must not be below federation.sender_backoff_start_ms (5000)');
  });

  it.each(['127.0.0.1:8448', '[::1]:8448', '127.0.0.1', '[::1]'])('accepts the IP-literal server name %s', (name) => {
    expect(loadConfig({ STRATA_SERVER_NAME: name }, noFile).serverName).toBe(name);
  });
});

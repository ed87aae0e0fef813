import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.ts';

const BRIDGE = `id: telegram
url: http://127.0.0.1:29317
as_token: as-secret
hs_token: hs-secret
sender_localpart: telegrambot
rate_limited: false
receive_ephemeral: true
namespaces:
  users:
    - exclusive: true
      regex: '@telegram_.*:example\\.org'
  aliases:
    - exclusive: true
      regex: '#telegram_.*:example\\.org'
  rooms: []
protocols: [telegram]
`;

const files = (entries: Record<string, string>) => (path: string): string => {
  const text = entries[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

const configWith = (list: string[], extra: Record<string, string> = {}) => files({
  '/etc/strata.yaml': `server_name: example.org\napp_service_config_files: [${list.map((p) => JSON.stringify(p)).join(', ')}]\n`,
  ...extra,
});

const problemOf = (list: string[], extra: Record<string, string>): string => {
  try {
    loadConfig({ STRATA_CONFIG: '/etc/strata.yaml' }, configWith(list, extra));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
};

describe('app_service_config_files', () => {
  it('reads each registration in Synapse\'s format', () => {
    const config = loadConfig({ STRATA_CONFIG: '/etc/strata.yaml' }, configWith(['/etc/telegram.yaml'], { '/etc/telegram.yaml': BRIDGE }));
    expect(config.appservices).toHaveLength(1);
    const [bridge] = config.appservices;
    expect(bridge).toMatchObject({
      id: 'telegram', url: 'http://127.0.0.1:29317', asToken: 'as-secret', hsToken: 'hs-secret', sender: '@telegrambot:example.org',
      rateLimited: false, receiveEphemeral: true, protocols: ['telegram'], source: '/etc/telegram.yaml',
    });
    expect(bridge!.namespaces.users[0]!.regex.test('@telegram_123:example.org')).toBe(true);
    expect(bridge!.namespaces.users[0]!.regex.test('@alice:example.org')).toBe(false);
  });

  it('reads the list from STRATA_APP_SERVICE_CONFIG_FILES, comma separated', () => {
    const config = loadConfig({ STRATA_APP_SERVICE_CONFIG_FILES: '/etc/telegram.yaml' }, files({ '/etc/telegram.yaml': BRIDGE }));
    expect(config.appservices.map((bridge) => bridge.id)).toEqual(['telegram']);
  });

  it('stops start-up naming the file and the field', () => {
    expect(problemOf(['/etc/missing.yaml'], {})).toBe('invalid config: app_service_config_files[0]: cannot read /etc/missing.yaml: ENOENT');
    expect(problemOf(['/etc/bad.yaml'], { '/etc/bad.yaml': 'id: [' })).toMatch(/^invalid config: app_service_config_files\[0\]: \/etc\/bad\.yaml is not valid YAML/);
    expect(problemOf(['/etc/b.yaml'], { '/etc/b.yaml': BRIDGE.replace('hs_token: hs-secret\n', '') }))
      .toBe('invalid config: app_service_config_files[0]: application service registration /etc/b.yaml: hs_token: must be a non-empty string');
    expect(problemOf(['/etc/b.yaml'], { '/etc/b.yaml': BRIDGE.replace("regex: '@telegram_.*:example\\.org'", "regex: '@telegram_(:'") }))
      .toMatch(/app_service_config_files\[0\]: application service registration \/etc\/b\.yaml: namespaces\.users\[0\]\.regex: is not a valid regular expression/);
    expect(problemOf(['/etc/b.yaml'], { '/etc/b.yaml': BRIDGE.replace('url: http://127.0.0.1:29317\n', '') }))
      .toContain('/etc/b.yaml: url: is required');
  });

  it('refuses an id, as_token or hs_token used twice', () => {
    const twin = BRIDGE.replace('as_token: as-secret', 'as_token: other').replace('hs_token: hs-secret', 'hs_token: other-hs');
    expect(problemOf(['/etc/a.yaml', '/etc/b.yaml'], { '/etc/a.yaml': BRIDGE, '/etc/b.yaml': twin }))
      .toBe('invalid config: app_service_config_files: application service registration /etc/b.yaml: id: is the same as in /etc/a.yaml; each must be unique');
    const sameToken = BRIDGE.replace('id: telegram', 'id: slack').replace('hs_token: hs-secret', 'hs_token: other-hs');
    expect(problemOf(['/etc/a.yaml', '/etc/b.yaml'], { '/etc/a.yaml': BRIDGE, '/etc/b.yaml': sameToken })).toContain('/etc/b.yaml: as_token: is the same as in /etc/a.yaml');
  });
});

// The `email:` section and `trusted_third_party_id_servers`: Synapse's names and defaults, bad
// values stopping start-up with the key named.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, type ReadConfigFile } from './index.ts';

const withFile = (file: Record<string, unknown>) => {
  const read: ReadConfigFile = () => stringify(file);
  return loadConfig({ STRATA_CONFIG: 'strata.yaml' }, read);
};

describe('email', () => {
  it('is off unless configured, and trusts no identity server by default', () => {
    const config = loadConfig({});
    expect(config.email).toBeUndefined();
    expect(config.trustedIdServers).toEqual([]);
  });

  it('takes Synapse`s keys with its defaults', () => {
    expect(withFile({ email: { notif_from: 'Strata <noreply@example.org>' } }).email).toEqual({
      smtpHost: 'localhost', smtpPort: 25, requireTransportSecurity: false, forceTls: false,
      notifFrom: 'Strata <noreply@example.org>', validationTokenLifetimeMs: 3_600_000,
    });
    expect(withFile({
      email: {
        smtp_host: 'mail.example.org', smtp_user: 'strata', smtp_pass: 'secret', force_tls: true, require_transport_security: true,
        notif_from: 'noreply@example.org', client_base_url: 'https://app.example.org', validation_token_lifetime: '15m',
      },
      trusted_third_party_id_servers: ['vector.im', 'id.example.org:8090', '[::1]:8090'],
    })).toMatchObject({
      email: {
        smtpHost: 'mail.example.org', smtpPort: 465, smtpUser: 'strata', smtpPass: 'secret', forceTls: true, requireTransportSecurity: true,
        clientBaseUrl: 'https://app.example.org', validationTokenLifetimeMs: 900_000,
      },
      trustedIdServers: ['vector.im', 'id.example.org:8090', '[::1]:8090'],
    });
  });

  it('refuses a section without a sender, bad ports and identity servers that are not host[:port]', () => {
    expect(() => withFile({ email: { smtp_host: 'mail.example.org' } })).toThrow(ConfigError);
    expect(() => withFile({ email: { notif_from: 'not an address' } })).toThrow(/email\.notif_from/);
    expect(() => withFile({ email: { notif_from: 'a@b.c', smtp_port: 70000 } })).toThrow(/email\.smtp_port/);
    expect(() => withFile({ email: { notif_from: 'a@b.c', client_base_url: 'ftp://x' } })).toThrow(/email\.client_base_url/);
    expect(() => withFile({ trusted_third_party_id_servers: ['https://vector.im'] })).toThrow(/trusted_third_party_id_servers/);
  });
});

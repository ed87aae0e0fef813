// federation.signing_key_path (STRATA_SIGNING_KEY_PATH): where a Synapse-format signing key file is.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.ts';

const file = (text: string) => (path: string): string => {
  if (path !== '/etc/strata.yaml') throw new Error(`unexpected path ${path}`);
  return text;
};

describe('federation.signing_key_path', () => {
  it('is unset by default: the key kept in the database', () => {
    expect(loadConfig({}, file('')).federation.signingKeyPath).toBeUndefined();
  });

  it('comes from the file or the variable, the variable winning, other federation keys kept', () => {
    const yaml = 'federation:\n  signing_key_path: /keys/file.key\n  trusted_key_servers: [matrix.org]\n';
    expect(loadConfig({ STRATA_CONFIG: '/etc/strata.yaml' }, file(yaml)).federation)
      .toMatchObject({ signingKeyPath: '/keys/file.key', trustedKeyServers: ['matrix.org'] });
    expect(loadConfig({ STRATA_CONFIG: '/etc/strata.yaml', STRATA_SIGNING_KEY_PATH: '/keys/env.key' }, file(yaml)).federation)
      .toMatchObject({ signingKeyPath: '/keys/env.key', trustedKeyServers: ['matrix.org'] });
  });

  it('refuses an empty path, naming the key', () => {
    expect(() => loadConfig({ STRATA_CONFIG: '/etc/strata.yaml' }, file('federation:\n  signing_key_path: " "\n')))
      .toThrow(ConfigError);
    expect(() => loadConfig({ STRATA_CONFIG: '/etc/strata.yaml' }, file('federation:\n  signing_key_path: " "\n')))
      .toThrow(/federation\.signing_key_path/);
  });
});

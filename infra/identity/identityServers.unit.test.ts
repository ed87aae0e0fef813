// Where an `id_server` as clients name it is reached: host or IP literal, port 443 unless given.
import { describe, expect, it } from 'vitest';
import { parseIdServer } from './identityServers.ts';

describe('parseIdServer', () => {
  it('reads host[:port] and bracketed IPv6 literals', () => {
    expect(parseIdServer('vector.im')).toEqual({ host: 'vector.im', port: 443 });
    expect(parseIdServer('id.example.org:8090')).toEqual({ host: 'id.example.org', port: 8090 });
    expect(parseIdServer('127.0.0.1:4443')).toEqual({ host: '127.0.0.1', port: 4443 });
    expect(parseIdServer('[::1]:8090')).toEqual({ host: '::1', port: 8090 });
  });

  it('refuses URLs, paths, credentials and impossible ports', () => {
    for (const name of ['https://vector.im', 'vector.im/path', 'user@vector.im', 'vector.im:0', 'vector.im:65536', '', '::1']) {
      expect(parseIdServer(name)).toBeUndefined();
    }
  });
});

// `/keys/query` and `/keys/claim` for other servers' users: one request per server naming all of
// its users, every server asked at once, each answer merged and each failure reported under
// `failures` (keys.yaml) with the status Synapse would give.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { RemoteKeysQuery, RemoteServers } from '../../ports/remoteServers.ts';
import type { UserDataContext } from './context.ts';
import { claimKeys, queryKeys } from './keys.ts';

const requester = { userId: '@me:strata.test', deviceId: 'ME' };

interface Asked { server: string; users: unknown; timeoutMs: number }

/** Remote servers whose answers are released by the test, so concurrency can be seen. */
const remoteContext = (answer: (server: string) => Promise<RemoteKeysQuery>) => {
  const asked: Asked[] = [];
  const remoteServers: Pick<RemoteServers, 'queryKeys' | 'claimKeys'> = {
    queryKeys: async (server, users, timeoutMs) => { asked.push({ server, users, timeoutMs }); return answer(server); },
    claimKeys: async (server, users, timeoutMs) => {
      asked.push({ server, users, timeoutMs });
      if (server === 'down.example') throw new MatrixError('M_UNKNOWN', 502, 'Failed to fetch one-time keys from down.example: it could not be reached');
      return { '@a:b.example': { D: { 'signed_curve25519:AA': { key: 'k' } } } };
    },
  };
  const ctx = { serverName: 'strata.test', remoteServers } as unknown as UserDataContext;
  return { ctx, asked };
};

describe('remote users in /keys/query and /keys/claim', () => {
  it('asks each server once for all its users, all servers at once, and reports the one that failed', async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const { ctx, asked } = remoteContext(async (server) => {
      started.push(server);
      if (started.length === 2) release();
      await gate;
      if (server === 'slow.example') throw new MatrixError('M_UNKNOWN', 504, 'Timed out fetching device keys from slow.example');
      return {
        deviceKeys: { '@a:b.example': { D: { device_id: 'D' } }, '@c:b.example': {} },
        masterKeys: { '@a:b.example': { usage: ['master'] } },
        selfSigningKeys: {},
      };
    });
    const reply = await queryKeys(ctx, requester, { device_keys: { '@a:b.example': ['D'], '@s:slow.example': [], '@c:b.example': [] }, timeout: 2_500 });
    expect(asked).toEqual([
      { server: 'b.example', users: { '@a:b.example': ['D'], '@c:b.example': [] }, timeoutMs: 2_500 },
      { server: 'slow.example', users: { '@s:slow.example': [] }, timeoutMs: 2_500 },
    ]);
    expect(reply).toEqual({
      device_keys: { '@a:b.example': { D: { device_id: 'D' } }, '@c:b.example': {} },
      failures: { 'slow.example': { status: 504, message: 'Timed out fetching device keys from slow.example' } },
      master_keys: { '@a:b.example': { usage: ['master'] } }, self_signing_keys: {}, user_signing_keys: {},
    });
  });

  it('waits 10 s by default and at most a minute', async () => {
    const { ctx, asked } = remoteContext(async () => ({ deviceKeys: {}, masterKeys: {}, selfSigningKeys: {} }));
    await queryKeys(ctx, requester, { device_keys: { '@a:b.example': [] } });
    await queryKeys(ctx, requester, { device_keys: { '@a:b.example': [] }, timeout: 3_600_000 });
    expect(asked.map((a) => a.timeoutMs)).toEqual([10_000, 60_000]);
  });

  it('claims from remote servers and reports those that failed', async () => {
    const { ctx, asked } = remoteContext(async () => ({ deviceKeys: {}, masterKeys: {}, selfSigningKeys: {} }));
    const reply = await claimKeys(ctx, requester, { one_time_keys: { '@a:b.example': { D: 'signed_curve25519' }, '@x:down.example': { X: 'signed_curve25519' } } });
    expect(asked.map((a) => [a.server, a.users])).toEqual([
      ['b.example', { '@a:b.example': { D: 'signed_curve25519' } }], ['down.example', { '@x:down.example': { X: 'signed_curve25519' } }],
    ]);
    expect(reply).toEqual({
      one_time_keys: { '@a:b.example': { D: { 'signed_curve25519:AA': { key: 'k' } } } },
      failures: { 'down.example': { status: 502, message: 'Failed to fetch one-time keys from down.example: it could not be reached' } },
    });
  });

  it('reports every remote server as a failure when federation is not configured', async () => {
    const ctx = { serverName: 'strata.test' } as unknown as UserDataContext;
    expect(await claimKeys(ctx, requester, { one_time_keys: { '@a:b.example': { D: 'signed_curve25519' } } }))
      .toEqual({ one_time_keys: {}, failures: { 'b.example': { status: 503, message: 'Federation is not available' } } });
  });
});

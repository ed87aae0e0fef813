// What a validation session proves: only its own client secret's, once validated, and not after it
// outlived its token by SESSION_RETENTION_MS.
import { describe, expect, it } from 'vitest';
import type { ThreePidStore, ThreePidValidationSession } from '../../ports/threePids.ts';
import { SESSION_RETENTION_MS, validatedThreePid } from './emailIdentity.ts';

const NOW = 1_700_000_000_000;
const SESSION: ThreePidValidationSession = {
  sessionId: 'sid', medium: 'email', address: 'bob@example.org', clientSecret: 'secret', lastSendAttempt: 1,
  tokenHash: 'hash', tokenExpiresTs: NOW + 3_600_000, validatedTs: NOW - 1000, createdTs: NOW - 2000,
};

/** Only the read validatedThreePid makes. */
const storeOf = (session: ThreePidValidationSession): ThreePidStore =>
  ({ getValidationSession: async (sid: string) => (sid === session.sessionId ? session : undefined) }) as unknown as ThreePidStore;

describe('validatedThreePid', () => {
  it('answers the address of a validated session owned by the client secret', async () => {
    expect(await validatedThreePid(storeOf(SESSION), 'sid', 'secret', NOW)).toEqual({ medium: 'email', address: 'bob@example.org', validatedTs: NOW - 1000 });
  });

  it('proves nothing for another secret, an unvalidated session, an unknown sid or malformed credentials', async () => {
    expect(await validatedThreePid(storeOf(SESSION), 'sid', 'other', NOW)).toBeUndefined();
    const { validatedTs: _validated, ...unvalidated } = SESSION;
    expect(await validatedThreePid(storeOf(unvalidated), 'sid', 'secret', NOW)).toBeUndefined();
    expect(await validatedThreePid(storeOf(SESSION), 'nope', 'secret', NOW)).toBeUndefined();
    expect(await validatedThreePid(storeOf(SESSION), 7, 'secret', NOW)).toBeUndefined();
    expect(await validatedThreePid(storeOf(SESSION), 'sid', 'not a secret', NOW)).toBeUndefined();
  });

  it('expires SESSION_RETENTION_MS after the token did', async () => {
    const last = SESSION.tokenExpiresTs + SESSION_RETENTION_MS;
    expect(await validatedThreePid(storeOf(SESSION), 'sid', 'secret', last)).toBeDefined();
    expect(await validatedThreePid(storeOf(SESSION), 'sid', 'secret', last + 1)).toBeUndefined();
  });
});

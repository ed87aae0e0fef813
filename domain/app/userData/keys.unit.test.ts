// `POST /keys/upload` stores a new device's one-time and fallback keys before its device keys: the
// device-list change those announce makes other clients claim a key for the device at once
// (matrix-sdk-crypto skips a device whose claim finds no key when it shares a room key).
import { describe, expect, it } from 'vitest';
import type { KeyStore, UserDataStores } from '../../ports/userData.ts';
import type { UserDataContext } from './context.ts';
import { uploadKeys } from './keys.ts';

const requester = { userId: '@bob:strata.test', deviceId: 'BOB2' };

/** A context whose key store and notifier only record the order of what upload does. */
const recordingContext = (steps: string[]): UserDataContext => {
  const keys: Partial<KeyStore> = {
    addOneTimeKeys: async () => { steps.push('one-time keys'); return []; },
    setFallbackKeys: async () => { steps.push('fallback keys'); },
    setDeviceKeys: async () => { steps.push('device keys'); return true; },
    oneTimeKeyCounts: async () => ({ signed_curve25519: 1 }),
  };
  return {
    stores: { keys } as unknown as UserDataStores,
    notifier: { current: () => 0, notify: () => { steps.push('notify'); }, waitFor: async () => 0 },
    membership: { usersSharingRoomsWith: async () => new Set(['@alice:strata.test']) },
  } as unknown as UserDataContext;
};

describe('uploadKeys', () => {
  it('stores one-time and fallback keys before the device keys it announces', async () => {
    const steps: string[] = [];
    const reply = await uploadKeys(recordingContext(steps), requester, {
      device_keys: {
        user_id: requester.userId, device_id: requester.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2'],
        keys: { 'curve25519:BOB2': 'c', 'ed25519:BOB2': 'e' }, signatures: { [requester.userId]: { 'ed25519:BOB2': 's' } },
      },
      one_time_keys: { 'signed_curve25519:AAAAAQ': { key: 'k', signatures: {} } },
      fallback_keys: { 'signed_curve25519:AAAAAg': { key: 'f', fallback: true, signatures: {} } },
    });
    expect(steps).toEqual(['one-time keys', 'fallback keys', 'device keys', 'notify']);
    expect(reply).toEqual({ one_time_key_counts: { signed_curve25519: 1 } });
  });
});

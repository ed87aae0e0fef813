/**
 * An AccountStore held in memory, with the same observable behaviour as the SQL store. Used by
 * unit tests and by gateway tests that do not need a database.
 */
import type { JsonValue } from '../../json.ts';
import type { AccessTokenOwner, AccountStore, Device, ProfileFields, UiaSession, UserAccount } from '../../ports/accounts.ts';

interface TokenRow extends AccessTokenOwner {
  readonly createdTs: number;
}

export interface MemoryAccountStore extends AccountStore {
  /** Test visibility: the stored token hashes. */
  tokenHashes(): string[];
}

export const createMemoryAccountStore = (): MemoryAccountStore => {
  const users = new Map<string, UserAccount>();
  const profiles = new Map<string, Map<string, JsonValue>>();
  const devices = new Map<string, Map<string, Device>>();
  const tokens = new Map<string, TokenRow>();
  const sessions = new Map<string, UiaSession>();
  const nonces = new Map<string, number>();

  const devicesOf = (userId: string): Map<string, Device> => {
    let map = devices.get(userId);
    if (map === undefined) devices.set(userId, (map = new Map()));
    return map;
  };
  const dropTokens = (predicate: (row: TokenRow) => boolean): void => {
    for (const [hash, row] of tokens) if (predicate(row)) tokens.delete(hash);
  };

  return {
    tokenHashes: () => [...tokens.keys()],
    async createUser(user) {
      if (users.has(user.userId)) return false;
      const { profile, ...account } = user;
      users.set(user.userId, account);
      profiles.set(user.userId, new Map(Object.entries(profile)));
      return true;
    },
    async getUser(userId) {
      return users.get(userId);
    },
    async setPasswordHash(userId, passwordHash) {
      const user = users.get(userId);
      if (user !== undefined) users.set(userId, { ...user, passwordHash });
    },
    async ensureDevice(userId, deviceId, displayName) {
      const map = devicesOf(userId);
      if (map.has(deviceId)) return { created: false };
      map.set(deviceId, { userId, deviceId, ...(displayName === undefined ? {} : { displayName }) });
      return { created: true };
    },
    async getDevice(userId, deviceId) {
      return devices.get(userId)?.get(deviceId);
    },
    async listDevices(userId) {
      return [...(devices.get(userId)?.values() ?? [])].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    },
    async setDeviceDisplayName(userId, deviceId, displayName) {
      const device = devices.get(userId)?.get(deviceId);
      if (device === undefined) return false;
      devicesOf(userId).set(deviceId, { ...device, displayName });
      return true;
    },
    async recordDeviceSeen(userId, deviceId, ip, now) {
      const device = devices.get(userId)?.get(deviceId);
      if (device === undefined) return;
      devicesOf(userId).set(deviceId, { ...device, ...(ip === undefined ? {} : { lastSeenIp: ip }), lastSeenTs: now });
    },
    async deleteDevices(userId, deviceIds) {
      const deleted = deviceIds.filter((deviceId) => devices.get(userId)?.delete(deviceId) === true);
      dropTokens((row) => row.userId === userId && deviceIds.includes(row.deviceId));
      return [...new Set(deleted)];
    },
    async deleteOtherDevices(userId, keepDeviceId) {
      const deleted = [...(devices.get(userId)?.keys() ?? [])].filter((deviceId) => deviceId !== keepDeviceId);
      for (const deviceId of deleted) devices.get(userId)?.delete(deviceId);
      dropTokens((row) => row.userId === userId && row.deviceId !== keepDeviceId);
      return deleted;
    },
    async addAccessToken(tokenHash, owner, now) {
      tokens.set(tokenHash, { userId: owner.userId, deviceId: owner.deviceId, isGuest: owner.isGuest, createdTs: now });
    },
    async findAccessToken(tokenHash) {
      const row = tokens.get(tokenHash);
      return row === undefined ? undefined : { userId: row.userId, deviceId: row.deviceId, isGuest: row.isGuest };
    },
    async deleteAccessTokensOfDevice(userId, deviceId) {
      dropTokens((row) => row.userId === userId && row.deviceId === deviceId);
    },
    async createUiaSession(session) {
      sessions.set(session.sessionId, session);
    },
    async getUiaSession(sessionId) {
      return sessions.get(sessionId);
    },
    async updateUiaSession(sessionId, completed, userId) {
      const session = sessions.get(sessionId);
      if (session === undefined) return;
      sessions.set(sessionId, { ...session, completed: [...completed], ...(userId === undefined ? {} : { userId }) });
    },
    async deleteUiaSession(sessionId) {
      sessions.delete(sessionId);
    },
    async deleteExpiredUiaSessions(createdBefore) {
      for (const [id, session] of sessions) if (session.createdTs < createdBefore) sessions.delete(id);
    },
    async getProfile(userId) {
      const profile = profiles.get(userId);
      return profile === undefined ? undefined : (Object.fromEntries(profile) as ProfileFields);
    },
    async setProfileField(userId, key, value) {
      profiles.get(userId)?.set(key, value);
    },
    async deleteProfileField(userId, key) {
      profiles.get(userId)?.delete(key);
    },
    async addRegistrationNonce(nonce, expiresTs) {
      nonces.set(nonce, expiresTs);
    },
    async consumeRegistrationNonce(nonce, now) {
      const expiresTs = nonces.get(nonce);
      nonces.delete(nonce);
      return expiresTs !== undefined && expiresTs > now;
    },
  };
};

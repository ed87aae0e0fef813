/**
 * An AccountStore held in memory, with the same observable behaviour as the SQL store. Used by
 * unit tests and by gateway tests that do not need a database.
 */
import type { JsonValue } from '../../domain/index.ts';
import type { AccessTokenOwner, AccountStore, Device, ProfileFields, SeenConnection, UiaSession, UserAccount } from '../../domain/ports/index.ts';

interface TokenRow extends AccessTokenOwner {
  readonly createdTs: number;
}

interface RefreshRow {
  readonly userId: string;
  readonly deviceId: string;
  /** The refresh token this one replaced, until this one or its access token is used. */
  parent?: string;
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
  /** Per user, keyed by device and IP (the SQL table's key), with the last User-Agent. */
  const connections = new Map<string, Map<string, SeenConnection>>();
  const nonces = new Map<string, number>();
  const refreshTokens = new Map<string, RefreshRow>();
  const openIdTokens = new Map<string, { userId: string; expiresTs: number }>();
  let guestLocalparts = 0;

  const devicesOf = (userId: string): Map<string, Device> => {
    let map = devices.get(userId);
    if (map === undefined) devices.set(userId, (map = new Map()));
    return map;
  };
  const dropTokens = (predicate: (row: { userId: string; deviceId: string }) => boolean): void => {
    for (const [hash, row] of tokens) if (predicate(row)) tokens.delete(hash);
    for (const [hash, row] of refreshTokens) if (predicate(row)) refreshTokens.delete(hash);
  };
  const ownerOf = (row: TokenRow): AccessTokenOwner => ({
    userId: row.userId, deviceId: row.deviceId, isGuest: row.isGuest,
    ...(row.expiresTs === undefined ? {} : { expiresTs: row.expiresTs }),
    ...(row.refreshTokenHash === undefined ? {} : { refreshTokenHash: row.refreshTokenHash }),
    ...(row.refreshTokenHash !== undefined && refreshTokens.get(row.refreshTokenHash)?.parent !== undefined ? { replacesRefreshToken: true } : {}),
    ...(users.get(row.userId)?.isAdmin === true ? { isAdmin: true } : {}),
    ...(users.get(row.userId)?.locked === true ? { locked: true } : {}),
    ...(users.get(row.userId)?.suspended === true ? { suspended: true } : {}),
  });
  /** Sets (true) or removes (false) one moderation flag of an existing account. */
  const flag = (userId: string, name: 'locked' | 'suspended', on: boolean): void => {
    const user = users.get(userId);
    if (user === undefined) return;
    const { [name]: _old, ...rest } = user;
    users.set(userId, on ? { ...rest, [name]: true } : rest);
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
    async nextGuestLocalpart() {
      guestLocalparts += 1;
      return String(guestLocalparts);
    },
    async upgradeGuest(userId, passwordHash) {
      const user = users.get(userId);
      if (user === undefined || !user.isGuest || user.deactivated === true) return false;
      users.set(userId, { ...user, passwordHash, isGuest: false });
      dropTokens((row) => row.userId === userId);
      return true;
    },
    async deactivateUser(userId) {
      const user = users.get(userId);
      if (user !== undefined) users.set(userId, { ...user, passwordHash: null, deactivated: true });
    },
    async setUserLocked(userId, locked) {
      flag(userId, 'locked', locked);
    },
    async setUserSuspended(userId, suspended) {
      flag(userId, 'suspended', suspended);
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
    async recordDeviceSeen(userId, deviceId, { ip, userAgent = '' }, now) {
      const device = devices.get(userId)?.get(deviceId);
      if (device === undefined) return;
      devicesOf(userId).set(deviceId, { ...device, ...(ip === undefined ? {} : { lastSeenIp: ip }), lastSeenTs: now });
      if (ip === undefined) return;
      let seen = connections.get(userId);
      if (seen === undefined) connections.set(userId, (seen = new Map()));
      const key = JSON.stringify([deviceId, ip]);
      const before = seen.get(key);
      if (before === undefined || before.lastSeen <= now) seen.set(key, { deviceId, ip, userAgent, lastSeen: now });
    },
    async listConnections(userId) {
      const alive = devices.get(userId);
      return [...(connections.get(userId)?.values() ?? [])]
        .filter((connection) => alive?.has(connection.deviceId) === true)
        .sort((a, b) => b.lastSeen - a.lastSeen || a.deviceId.localeCompare(b.deviceId) || a.ip.localeCompare(b.ip));
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
      const { replacesRefreshToken: _read, ...stored } = owner;
      tokens.set(tokenHash, { ...stored, createdTs: now });
    },
    async findAccessToken(tokenHash) {
      const row = tokens.get(tokenHash);
      return row === undefined ? undefined : ownerOf(row);
    },
    async addRefreshToken(tokenHash, owner) {
      refreshTokens.set(tokenHash, { userId: owner.userId, deviceId: owner.deviceId });
    },
    async refreshSession(used, next, now) {
      const row = refreshTokens.get(used);
      if (row === undefined) return undefined;
      if (row.parent !== undefined) refreshTokens.delete(row.parent);
      delete row.parent;
      const superseded = new Set([used, ...[...refreshTokens].filter(([, r]) => r.parent === used).map(([hash]) => hash)]);
      for (const [hash, token] of tokens) if (token.refreshTokenHash !== undefined && superseded.has(token.refreshTokenHash)) tokens.delete(hash);
      for (const hash of superseded) if (hash !== used) refreshTokens.delete(hash);
      refreshTokens.set(next.refreshTokenHash, { userId: row.userId, deviceId: row.deviceId, parent: used });
      const owner = { userId: row.userId, deviceId: row.deviceId, isGuest: false, expiresTs: next.accessExpiresTs, refreshTokenHash: next.refreshTokenHash };
      tokens.set(next.accessTokenHash, { ...owner, createdTs: now });
      return { ...owner, replacesRefreshToken: true };
    },
    async retireReplacedRefreshToken(refreshTokenHash) {
      const row = refreshTokens.get(refreshTokenHash);
      if (row?.parent === undefined) return;
      refreshTokens.delete(row.parent);
      delete row.parent;
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
    async setUiaSessionData(sessionId, key, value) {
      const session = sessions.get(sessionId);
      if (session !== undefined) sessions.set(sessionId, { ...session, data: { ...session.data, [key]: value } });
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
    async addOpenIdToken(tokenHash, userId, expiresTs) {
      openIdTokens.set(tokenHash, { userId, expiresTs });
    },
    async findOpenIdToken(tokenHash, now) {
      const token = openIdTokens.get(tokenHash);
      return token !== undefined && token.expiresTs > now ? token.userId : undefined;
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

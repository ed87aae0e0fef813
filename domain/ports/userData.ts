/**
 * Ports for per-user data and the ephemeral streams /sync delivers incrementally: account data
 * (incl. tags, read markers and push rules), filters, receipts, to-device messages, end-to-end
 * keys with the device-list stream, and presence. infra/userData implements them over SQL.
 *
 * Every stream has a monotonically increasing position. A reader that sees `currentPosition()` = N
 * has seen every change at a position ≤ N (writers of one stream are serialised), so
 * `changesSince(…, since, upTo)` with `upTo` = a position read earlier never misses a change.
 */
import type { JsonObject } from '../json.ts';

export type StreamPosition = number;

/** What the rooms layer answers about membership (projections/rooms implements it). */
export interface RoomMembership {
  isJoined(roomId: string, userId: string): Promise<boolean>;
  /** Users (including `userId`) who share at least one joined room with `userId`. */
  usersSharingRoomsWith(userId: string): Promise<ReadonlySet<string>>;
}

/**
 * Which servers take part in rooms, as the rooms read model holds it (projections/rooms
 * implements it): where EDUs go (server-server-api § EDUs). A server takes part while at least
 * one of its users is joined; the server name is everything after a user id's first ':'.
 */
export interface RoomServers {
  /** Servers with a joined member in the room, sorted. */
  serversInRoom(roomId: string): Promise<string[]>;
  /** Servers with a joined member in any room `userId` is joined to (the user's own included), sorted. */
  serversSharingRoomsWith(userId: string): Promise<string[]>;
}

/** The devices of local users (the account store fits). */
export interface DeviceDirectory {
  listDevices(userId: string): Promise<ReadonlyArray<{ readonly deviceId: string; readonly displayName?: string }>>;
}

/** One account-data entry; `roomId` null for global account data. */
export interface AccountDataEntry {
  readonly roomId: string | null;
  readonly type: string;
  readonly content: JsonObject;
  readonly position: StreamPosition;
}

export interface AccountDataStore {
  get(userId: string, roomId: string | null, type: string): Promise<JsonObject | undefined>;
  /**
   * Read-modify-write, atomic per entry: `change` gets the current content and returns the new one,
   * or undefined to leave the entry untouched (then no position is used). It may be called again
   * with the newer content when another writer changed the entry meanwhile.
   */
  update(
    userId: string, roomId: string | null, type: string,
    change: (current: JsonObject | undefined) => JsonObject | undefined,
  ): Promise<{ readonly position: StreamPosition; readonly content: JsonObject } | undefined>;
  currentPosition(): Promise<StreamPosition>;
  /** Latest content of every entry changed in (since, upTo]; `since` 0 lists everything. */
  changesSince(userId: string, since: StreamPosition, upTo: StreamPosition): Promise<AccountDataEntry[]>;
}

export interface FilterStore {
  /** Stores the filter and returns its new id (unique per user). */
  create(userId: string, filter: JsonObject): Promise<string>;
  get(userId: string, filterId: string): Promise<JsonObject | undefined>;
}

export interface Receipt {
  readonly roomId: string;
  /** `m.read` or `m.read.private`. */
  readonly receiptType: string;
  readonly userId: string;
  readonly eventId: string;
  /** Absent for an unthreaded receipt; `main` or a thread root id otherwise. */
  readonly threadId?: string;
  readonly ts: number;
  readonly position: StreamPosition;
}

export interface ReceiptStore {
  /** Replaces the user's receipt of that type (and thread) in the room. */
  put(receipt: Omit<Receipt, 'position'>): Promise<StreamPosition>;
  currentPosition(): Promise<StreamPosition>;
  /** Receipts in `roomIds` changed in (since, upTo], the latest per user, type and thread. */
  changesSince(roomIds: readonly string[], since: StreamPosition, upTo: StreamPosition): Promise<Receipt[]>;
}

export interface ToDeviceMessage {
  readonly sender: string;
  readonly type: string;
  readonly content: JsonObject;
  readonly position: StreamPosition;
}

export interface ToDeviceDelivery {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: JsonObject;
}

export interface ToDeviceStore {
  /**
   * Queues the messages unless this sender device already used `txnId` (then nothing is queued
   * and `duplicate` is true). Positions are allocated per message.
   */
  send(
    sender: { readonly userId: string; readonly deviceId: string }, txnId: string, type: string,
    deliveries: readonly ToDeviceDelivery[],
  ): Promise<{ readonly duplicate: boolean; readonly position: StreamPosition }>;
  currentPosition(): Promise<StreamPosition>;
  /** Deletes the device's messages at positions ≤ `upTo`: its client has them. */
  acknowledge(userId: string, deviceId: string, upTo: StreamPosition): Promise<void>;
  /** Up to `limit` queued messages in (since, upTo], oldest first. */
  messagesFor(userId: string, deviceId: string, since: StreamPosition, upTo: StreamPosition, limit: number): Promise<ToDeviceMessage[]>;
  deleteDevice(userId: string, deviceId: string): Promise<void>;
}

export interface OneTimeKey {
  readonly keyId: string;
  /** `algorithm:key_id` as uploaded. */
  readonly algorithm: string;
  readonly key: JsonObject | string;
}

export interface ClaimedKey {
  readonly userId: string;
  readonly deviceId: string;
  /** The full `algorithm:key_id`. */
  readonly keyId: string;
  readonly key: JsonObject | string;
}

export interface KeyStore {
  /** Stores the device keys; true (and a device-list change) when they differ from the stored ones. */
  setDeviceKeys(userId: string, deviceId: string, keys: JsonObject): Promise<boolean>;
  /** Device keys by device id, for the given devices (all the user's when `deviceIds` is empty). */
  getDeviceKeys(userId: string, deviceIds: readonly string[]): Promise<Map<string, JsonObject>>;
  /**
   * Adds one-time keys (`algorithm:key_id` → key). Re-uploading an identical key is a no-op; the
   * ids of keys that already exist with other content are returned and nothing is stored.
   */
  addOneTimeKeys(userId: string, deviceId: string, keys: ReadonlyMap<string, JsonObject | string>): Promise<string[]>;
  /** Replaces the fallback key of each algorithm (`algorithm:key_id` → key) as unused. */
  setFallbackKeys(userId: string, deviceId: string, keys: ReadonlyMap<string, JsonObject | string>): Promise<void>;
  oneTimeKeyCounts(userId: string, deviceId: string): Promise<Record<string, number>>;
  unusedFallbackKeyAlgorithms(userId: string, deviceId: string): Promise<string[]>;
  /** Both of the above in one read, for every /sync response. */
  keyCounts(userId: string, deviceId: string): Promise<{ oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes: string[] }>;
  /** Removes and returns one one-time key, each at most once under concurrency; else the fallback key. */
  claim(userId: string, deviceId: string, algorithm: string): Promise<ClaimedKey | undefined>;
  /** Forgets every key of the device and records a device-list change. */
  deleteDevice(userId: string, deviceId: string): Promise<void>;
  /** The device-list stream: users whose device keys changed. */
  currentDeviceListPosition(): Promise<StreamPosition>;
  /** Users whose devices or keys changed in (since, upTo]. */
  deviceListChangesSince(since: StreamPosition, upTo: StreamPosition): Promise<string[]>;
  /**
   * Records that `userId`'s devices or keys changed without storing any key: a remote user's
   * server told us (m.device_list_update, m.signing_key_update). Answers the change's position.
   */
  recordDeviceListChange(userId: string): Promise<StreamPosition>;
  /**
   * The positions of `userId`'s latest `limit` device-list changes, newest first: the `stream_id`
   * and `prev_id` of the m.device_list_update EDU announcing the latest one.
   */
  latestDeviceListChanges(userId: string, limit: number): Promise<StreamPosition[]>;
}

/** The three cross-signing keys of a user (client-server-api § Cross-signing). */
export type CrossSigningKeyType = 'master' | 'self_signing' | 'user_signing';

/** One signature uploaded through `/keys/signatures/upload`, kept apart from the key it signs. */
export interface CrossSigningSignature {
  readonly targetUserId: string;
  /** A device id, or the unpadded Base64 public key of a master key. */
  readonly targetKeyId: string;
  readonly signerUserId: string;
  /** `ed25519:…` as it appears under `signatures`. */
  readonly signerKeyId: string;
  readonly signature: string;
}

export interface CrossSigningStore {
  /** The user's cross-signing keys as uploaded. */
  getKeys(userId: string): Promise<Partial<Record<CrossSigningKeyType, JsonObject>>>;
  /**
   * Stores the given keys; true (and one device-list change) when any differs from the stored one.
   * Signatures made by a replaced key, or on a replaced master key, are forgotten.
   */
  setKeys(userId: string, keys: Partial<Record<CrossSigningKeyType, JsonObject>>): Promise<boolean>;
  /** Stores the signatures (a repeat replaces) and records a device-list change for each of `changedUsers`. */
  addSignatures(signatures: readonly CrossSigningSignature[], changedUsers: readonly string[]): Promise<void>;
  /** Signatures on keys of `targetUserId` made by any of `signerUserIds`. */
  signaturesOn(targetUserId: string, signerUserIds: readonly string[]): Promise<CrossSigningSignature[]>;
}

/** A server-side key backup version (client-server-api § Server-side key backups). */
export interface KeyBackupVersion {
  readonly version: string;
  readonly algorithm: string;
  readonly authData: JsonObject;
  /** Changes whenever the backup's keys change. */
  readonly etag: string;
  readonly count: number;
}

/** One backed-up megolm session key (KeyBackupData). */
export interface BackedUpRoomKey {
  readonly roomId: string;
  readonly sessionId: string;
  readonly firstMessageIndex: number;
  readonly forwardedCount: number;
  readonly isVerified: boolean;
  readonly sessionData: JsonObject;
}

export interface KeyBackupSummary {
  readonly etag: string;
  readonly count: number;
}

/** Which keys of a backup: all, a room's, or one session's. */
export interface RoomKeySelection {
  readonly roomId?: string;
  readonly sessionId?: string;
}

export interface KeyBackupStore {
  /** Creates a version newer than every earlier one of the user, deleted ones included. */
  createVersion(userId: string, algorithm: string, authData: JsonObject): Promise<string>;
  /** The given version, or the latest when `version` is undefined; undefined when unknown or deleted. */
  getVersion(userId: string, version?: string): Promise<KeyBackupVersion | undefined>;
  /** Replaces the version's auth data; false when it is unknown or deleted. */
  updateVersion(userId: string, version: string, authData: JsonObject): Promise<boolean>;
  /** Deletes the version and its keys; false when it never existed (deleting twice is fine). */
  deleteVersion(userId: string, version: string): Promise<boolean>;
  /**
   * Stores keys in `version` if it is the user's latest version, each unless `keepStored(stored,
   * candidate)` says the stored key of that session is better. Otherwise stores nothing and
   * answers the latest version (undefined when the user has none).
   */
  putKeys(
    userId: string, version: string, keys: readonly BackedUpRoomKey[],
    keepStored: (stored: BackedUpRoomKey, candidate: BackedUpRoomKey) => boolean,
  ): Promise<{ readonly stored: KeyBackupSummary } | { readonly latestVersion: string | undefined }>;
  /** The selected keys of a version (which the caller checked exists). */
  getKeys(userId: string, version: string, which: RoomKeySelection): Promise<BackedUpRoomKey[]>;
  /** Deletes the selected keys; undefined when the version is unknown or deleted. */
  deleteKeys(userId: string, version: string, which: RoomKeySelection): Promise<KeyBackupSummary | undefined>;
}

export interface PresenceState {
  readonly userId: string;
  readonly presence: 'online' | 'offline' | 'unavailable';
  readonly statusMsg?: string;
  readonly lastActiveTs: number;
  readonly position: StreamPosition;
}

export interface PresenceStore {
  get(userId: string): Promise<PresenceState | undefined>;
  set(state: Omit<PresenceState, 'position'>): Promise<StreamPosition>;
  /**
   * The user's last activity, moved on while nothing observers are told changes (an active user
   * stays currently active): stored without a new stream position, so no /sync hears of it.
   */
  touch(userId: string, lastActiveTs: number): Promise<void>;
  /** Every user whose stored presence is not offline: their timers resume after a restart. */
  present(): Promise<PresenceState[]>;
  currentPosition(): Promise<StreamPosition>;
  /** Latest presence of `userIds` changed in (since, upTo]. */
  changesSince(userIds: readonly string[], since: StreamPosition, upTo: StreamPosition): Promise<PresenceState[]>;
}

/** Every user-data stream's position at one instant (what /sync reads first). */
/** A pusher (push.yaml § Pusher), keyed by user, `app_id` and `pushkey`. */
export interface Pusher {
  readonly userId: string;
  readonly kind: string;
  readonly appId: string;
  readonly pushkey: string;
  readonly appDisplayName: string;
  readonly deviceDisplayName: string;
  readonly profileTag: string;
  readonly lang: string;
  readonly data: JsonObject;
  /** The device that set it: the pusher goes when the device does. */
  readonly deviceId: string;
  /** When it was first set (the list's order). */
  readonly createdTs: number;
  /** When it was last set (ms): the gateway's `pushkey_ts`, "when the pushkey was last updated". */
  readonly pushkeyTs: number;
}

export interface PusherStore {
  /** The user's pushers, oldest first. */
  list(userId: string): Promise<Pusher[]>;
  /** Creates the pusher, or replaces the one with the same user, `app_id` and `pushkey`. */
  upsert(pusher: Pusher): Promise<void>;
  delete(userId: string, appId: string, pushkey: string): Promise<void>;
  /** Without `append`, a pushkey belongs to one user: other users' pushers with it go. */
  deleteForOtherUsers(appId: string, pushkey: string, keepUserId: string): Promise<void>;
  /** The pushers a device set go with it (as Synapse): a logged-out phone gets no more pushes. */
  deleteOfDevice(userId: string, deviceId: string): Promise<void>;
  deleteAllOfUser(userId: string): Promise<void>;
  /** Users with at least one `http` pusher: the push sender skips events none of them could get. */
  usersWithHttpPushers(): Promise<string[]>;
}

export interface UserDataPositions {
  readonly accountData: StreamPosition;
  readonly receipts: StreamPosition;
  readonly toDevice: StreamPosition;
  readonly deviceLists: StreamPosition;
  readonly presence: StreamPosition;
}

/** The SQL stores, opened together. */
export interface UserDataStores {
  /** All stream positions in one read: equal to each store's `currentPosition()` at one instant. */
  currentPositions(): Promise<UserDataPositions>;
  readonly accountData: AccountDataStore;
  readonly filters: FilterStore;
  readonly receipts: ReceiptStore;
  readonly toDevice: ToDeviceStore;
  readonly keys: KeyStore;
  readonly presence: PresenceStore;
  readonly crossSigning: CrossSigningStore;
  readonly keyBackups: KeyBackupStore;
  readonly pushers: PusherStore;
}

/** The per-user data use-cases bound to their context: what the gateway routes and /sync call. */
import type { JsonObject } from '../../json.ts';
import type { RoomKeySelection } from '../../ports/userData.ts';
import { deleteTag, getAccountData, getTags, setAccountData, setTag } from './accountData.ts';
import { capabilities, type CapabilitiesOptions } from './capabilities.ts';
import type { Requester, UserDataContext } from './context.ts';
import { uploadCrossSigningKeys, uploadSignatures, type Authorize } from './crossSigning.ts';
import type { Filter } from './filter.ts';
import { createFilter, getFilter, resolveFilter } from './filters.ts';
import {
  createBackupVersion, deleteBackupVersion, deleteRoomKeys, getBackupVersion, getRoomKeys, putRoomKeys, updateBackupVersion,
} from './keyBackup.ts';
import { claimKeys, onDeviceChanged, onDeviceDeleted, queryKeys, uploadKeys } from './keys.ts';
import { sendPresence, sendTyping } from './federationEdus.ts';
import { startPresencePings } from './presencePing.ts';
import { createRemoteUserData, type RemoteUserData } from './remoteEdus.ts';
import { getPresence, setPresence } from './presence.ts';
import { createPresenceTracker, SYNAPSE_PRESENCE_TIMERS, type PresenceTimers, type PresenceTracker } from './presenceTracker.ts';
import type { PushRule, PushRuleset } from './pushRuleDefaults.ts';
import { deletePushersOfDevice, deletePushersOfUser, getPushers, setPusher } from './pushers.ts';
import { getRule, getRuleset, getRulesOfKind, removeRule, setRule, setRuleActions, setRuleEnabled } from './pushRules.ts';
import type { RulePlacement } from './pushRuleset.ts';
import { sendReceipt, setReadMarkers, setTyping } from './receipts.ts';
import { createUserDataStreams, type UserDataStreams } from './streams.ts';
import { sendToDevice } from './toDevice.ts';
import { createTypingStream, type Schedule } from './typing.ts';

export interface UserDataDependencies extends Omit<UserDataContext, 'typing' | 'presence'> {
  readonly capabilities?: CapabilitiesOptions;
  /** Timer for typing and presence timeouts (tests); setTimeout by default. */
  readonly schedule?: Schedule;
  /** Presence idle/offline timers; Synapse's by default. */
  readonly presenceTimers?: PresenceTimers;
}

type R = Requester;

export interface UserData {
  readonly streams: UserDataStreams;
  /** /sync reports its `set_presence` here; room sends report activity (presenceTracker.ts). */
  readonly presence: PresenceTracker;
  /** What other servers' EDUs change (domain/app/federation/edus/ applies them here). */
  readonly remote: RemoteUserData;
  getAccountData(requester: R, userId: string, roomId: string | null, type: string): Promise<JsonObject>;
  setAccountData(requester: R, userId: string, roomId: string | null, type: string, content: JsonObject): Promise<void>;
  getTags(requester: R, userId: string, roomId: string): Promise<JsonObject>;
  setTag(requester: R, userId: string, roomId: string, tag: string, info: JsonObject): Promise<void>;
  deleteTag(requester: R, userId: string, roomId: string, tag: string): Promise<void>;
  createFilter(requester: R, userId: string, body: JsonObject): Promise<string>;
  getFilter(requester: R, userId: string, filterId: string): Promise<JsonObject>;
  /** The `filter` parameter of /sync and /messages: an id or inline JSON. */
  resolveFilter(userId: string, param: string | undefined): Promise<Filter>;
  getPushRules(requester: R): Promise<PushRuleset>;
  getPushRule(requester: R, kind: string, ruleId: string): Promise<PushRule>;
  getPushRulesOfKind(requester: R, kind: string): Promise<readonly PushRule[]>;
  setPushRule(requester: R, kind: string, ruleId: string, body: JsonObject, placement: RulePlacement): Promise<void>;
  deletePushRule(requester: R, kind: string, ruleId: string): Promise<void>;
  setPushRuleEnabled(requester: R, kind: string, ruleId: string, body: JsonObject): Promise<void>;
  setPushRuleActions(requester: R, kind: string, ruleId: string, body: JsonObject): Promise<void>;
  getPushers(requester: R): Promise<JsonObject>;
  setPusher(requester: R, body: JsonObject): Promise<void>;
  /** The accounts layer calls this after deactivating an account: its pushers go. */
  onAccountDeactivated(userId: string): Promise<void>;
  setTyping(requester: R, roomId: string, userId: string, body: JsonObject): Promise<void>;
  sendReceipt(requester: R, roomId: string, receiptType: string, eventId: string, body: JsonObject): Promise<void>;
  setReadMarkers(requester: R, roomId: string, body: JsonObject): Promise<void>;
  sendToDevice(requester: R, eventType: string, txnId: string, body: JsonObject): Promise<void>;
  uploadKeys(requester: R, body: JsonObject): Promise<JsonObject>;
  queryKeys(requester: R, body: JsonObject): Promise<JsonObject>;
  claimKeys(requester: R, body: JsonObject): Promise<JsonObject>;
  /** `authorize` runs user-interactive auth, when the upload needs it. */
  uploadCrossSigningKeys(requester: R, body: JsonObject, authorize: Authorize): Promise<JsonObject>;
  uploadSignatures(requester: R, body: JsonObject): Promise<JsonObject>;
  createBackupVersion(requester: R, body: JsonObject): Promise<JsonObject>;
  /** The current backup when `version` is undefined. */
  getBackupVersion(requester: R, version: string | undefined): Promise<JsonObject>;
  updateBackupVersion(requester: R, version: string, body: JsonObject): Promise<JsonObject>;
  deleteBackupVersion(requester: R, version: string): Promise<JsonObject>;
  /** `version` is the query parameter (required: M_MISSING_PARAM when undefined). */
  putRoomKeys(requester: R, version: string | undefined, which: RoomKeySelection, body: JsonObject): Promise<JsonObject>;
  getRoomKeys(requester: R, version: string | undefined, which: RoomKeySelection): Promise<JsonObject>;
  deleteRoomKeys(requester: R, version: string | undefined, which: RoomKeySelection): Promise<JsonObject>;
  /** The accounts layer calls this after deleting a device: its keys, to-device queue and pushers go. */
  onDeviceDeleted(userId: string, deviceId: string): Promise<void>;
  /** The accounts layer calls this after creating or renaming a device: the user's device list changed. */
  onDeviceChanged(userId: string, deviceId: string): Promise<void>;
  getPresence(requester: R, userId: string): Promise<JsonObject>;
  setPresence(requester: R, userId: string, body: JsonObject): Promise<void>;
  /** `viewer.isAdmin` adds `m.account_moderation`. */
  capabilities(viewer?: { readonly isAdmin?: boolean }): JsonObject;
  /** Stops the typing and presence timeouts. */
  close(): void;
}

const timeoutSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

export const createUserData = (deps: UserDataDependencies): UserData => {
  const isLocal = (userId: string): boolean => userId.slice(userId.indexOf(':') + 1) === deps.serverName;
  const granularityMs = (deps.presenceTimers ?? SYNAPSE_PRESENCE_TIMERS).lastActiveGranularityMs;
  const tracker = createPresenceTracker({
    store: deps.stores.presence, membership: deps.membership, notifier: deps.notifier, clock: deps.clock, isLocal,
    ...(deps.schedule === undefined ? {} : { schedule: deps.schedule }),
    ...(deps.presenceTimers === undefined ? {} : { timers: deps.presenceTimers }),
    // Best effort, as presence EDUs are: failing to queue one must not fail the /sync that moved it.
    onWritten: (state) => sendPresence(deps, state, granularityMs).catch(() => undefined),
  });
  // A local user's typing that timed out is a stop other servers must hear of; a remote user's is theirs to send.
  const typing = createTypingStream(deps.notifier, deps.schedule, (roomId, userId) => {
    if (isLocal(userId)) void sendTyping(ctx, roomId, userId, false).catch(() => undefined);
  });
  const ctx: UserDataContext = { ...deps, typing, presence: tracker };
  const remote = createRemoteUserData(ctx, deps.schedule ?? timeoutSchedule);
  const pings = startPresencePings(ctx, deps.schedule ?? timeoutSchedule, granularityMs);
  // Remote users stored as present get their timeout back with ours.
  const presence: PresenceTracker = {
    ...tracker,
    resume: async () => {
      await tracker.resume();
      await remote.resume();
    },
  };
  // Typing, receipts and read markers are activity (Synapse bumps presence for each).
  const activeAfter = async (requester: R, done: Promise<void>): Promise<void> => {
    await done;
    await presence.active(requester.userId);
  };
  return {
    streams: createUserDataStreams(ctx),
    presence,
    remote,
    getAccountData: (...a) => getAccountData(ctx, ...a),
    setAccountData: (...a) => setAccountData(ctx, ...a),
    getTags: (...a) => getTags(ctx, ...a),
    setTag: (...a) => setTag(ctx, ...a),
    deleteTag: (...a) => deleteTag(ctx, ...a),
    createFilter: (...a) => createFilter(ctx, ...a),
    getFilter: (...a) => getFilter(ctx, ...a),
    resolveFilter: (...a) => resolveFilter(ctx, ...a),
    getPushRules: (requester) => getRuleset(ctx, requester),
    getPushRule: (...a) => getRule(ctx, ...a),
    getPushRulesOfKind: (...a) => getRulesOfKind(ctx, ...a),
    setPushRule: (...a) => setRule(ctx, ...a),
    deletePushRule: (...a) => removeRule(ctx, ...a),
    setPushRuleEnabled: (...a) => setRuleEnabled(ctx, ...a),
    setPushRuleActions: (...a) => setRuleActions(ctx, ...a),
    getPushers: (...a) => getPushers(ctx, ...a),
    setPusher: (...a) => setPusher(ctx, ...a),
    onAccountDeactivated: (userId) => deletePushersOfUser(ctx, userId),
    setTyping: (...a) => activeAfter(a[0], setTyping(ctx, ...a)),
    sendReceipt: (...a) => activeAfter(a[0], sendReceipt(ctx, ...a)),
    setReadMarkers: (...a) => activeAfter(a[0], setReadMarkers(ctx, ...a)),
    sendToDevice: (...a) => sendToDevice(ctx, ...a),
    uploadKeys: (...a) => uploadKeys(ctx, ...a),
    queryKeys: (...a) => queryKeys(ctx, ...a),
    claimKeys: (...a) => claimKeys(ctx, ...a),
    uploadCrossSigningKeys: (...a) => uploadCrossSigningKeys(ctx, ...a),
    uploadSignatures: (...a) => uploadSignatures(ctx, ...a),
    createBackupVersion: (...a) => createBackupVersion(ctx, ...a),
    getBackupVersion: (...a) => getBackupVersion(ctx, ...a),
    updateBackupVersion: (...a) => updateBackupVersion(ctx, ...a),
    deleteBackupVersion: (...a) => deleteBackupVersion(ctx, ...a),
    putRoomKeys: (...a) => putRoomKeys(ctx, ...a),
    getRoomKeys: (...a) => getRoomKeys(ctx, ...a),
    deleteRoomKeys: (...a) => deleteRoomKeys(ctx, ...a),
    onDeviceChanged: (userId, deviceId) => onDeviceChanged(ctx, userId, deviceId),
    onDeviceDeleted: async (userId, deviceId) => {
      await onDeviceDeleted(ctx, userId, deviceId);
      await deletePushersOfDevice(ctx, userId, deviceId);
    },
    getPresence: (...a) => getPresence(ctx, ...a),
    setPresence: (...a) => setPresence(ctx, ...a),
    capabilities: (viewer) => capabilities(deps.capabilities, viewer),
    close: () => {
      ctx.typing.close();
      tracker.close();
      remote.close();
      pings.close();
    },
  };
};

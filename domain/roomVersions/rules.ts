/**
 * Room versions as data. Each version is the previous one plus a delta; code tests these flags and
 * never a version number. Spec: content/rooms/v1.md … v12.md.
 */

export type StateResAlgorithm = 'v1' | 'v2' | 'v2.1';
/** v1–v2: the origin chooses `$opaque:domain`; v3: `$` + base64(reference hash); v4+: URL-safe. */
export type EventIdFormat = 'originChosen' | 'referenceHashBase64' | 'referenceHashUrlSafeBase64';

export interface EventFormatRules {
  readonly eventIdFormat: EventIdFormat;
  /** v1–v2: `prev_events`/`auth_events` are `[event_id, {sha256}]` pairs and the PDU carries `event_id`. */
  readonly referencesCarryHashes: boolean;
  /** v12: the room id is `!` + the create event's reference hash; the create event has no `room_id`. */
  readonly roomIdIsCreateEventHash: boolean;
}

export interface RedactionRules {
  /** v1–v5: `m.room.aliases` keeps `aliases`. */
  readonly keepsAliasesContent: boolean;
  /** Since v8: `m.room.join_rules` keeps `allow`. */
  readonly keepsJoinRulesAllow: boolean;
  /** Since v9: `m.room.member` keeps `join_authorised_via_users_server`. */
  readonly keepsMemberJoinAuthorisedVia: boolean;
  /** Since v11: `m.room.create` keeps its whole content. */
  readonly keepsAllCreateContent: boolean;
  /** Since v11: `m.room.redaction` keeps `content.redacts`. */
  readonly keepsRedactionRedacts: boolean;
  /** Since v11: `m.room.power_levels` keeps `invite`. */
  readonly keepsPowerLevelsInvite: boolean;
  /** Since v11: `m.room.member` keeps `third_party_invite.signed`. */
  readonly keepsMemberThirdPartyInviteSigned: boolean;
  /** Since v11: the top-level keys `origin`, `membership` and `prev_state` are no longer kept. */
  readonly dropsLegacyTopLevelKeys: boolean;
}

export interface AuthRules {
  /** v1–v5: `m.room.aliases` has its own auth rule (state_key must be the sender's domain). */
  readonly specialCaseAliasesEvent: boolean;
  /** v1–v2: a redaction is allowed by auth when the sender's domain matches the redacted event's. */
  readonly redactionDomainCheckInAuth: boolean;
  /** Since v6: changing `notifications` in power levels needs the sender's power. */
  readonly limitNotificationsPowerLevels: boolean;
  /** Since v6: canonical JSON rejects floats and integers outside ±(2^53−1). */
  readonly strictCanonicalJson: boolean;
  /** Since v7: `knock` membership and join rule. */
  readonly knocking: boolean;
  /** Since v8: `restricted` join rule with `join_authorised_via_users_server`. */
  readonly restrictedJoins: boolean;
  /** Since v10: `knock_restricted` join rule. */
  readonly knockRestrictedJoinRule: boolean;
  /** Since v10: power level values must be integers (strings such as "50" are rejected). */
  readonly integerPowerLevels: boolean;
  /** Since v11: the room creator is the create event's `sender`; `content.creator` is not used. */
  readonly creatorIsCreateSender: boolean;
  /** Since v11: `m.room.redaction` carries `redacts` in its content. */
  readonly redactsInContent: boolean;
  /**
   * Since v12: the create event's sender and `content.additional_creators` are creators with
   * infinite power; power levels must not list them; the create event is not in `auth_events`.
   */
  readonly privilegedCreators: boolean;
}

export interface RoomVersionRules {
  readonly id: string;
  readonly eventFormat: EventFormatRules;
  readonly redaction: RedactionRules;
  readonly auth: AuthRules;
  readonly stateRes: StateResAlgorithm;
  /** Since v5: a signature only counts while the key is valid (`valid_until_ts`). */
  readonly enforceKeyValidity: boolean;
}

const v1: RoomVersionRules = {
  id: '1',
  eventFormat: { eventIdFormat: 'originChosen', referencesCarryHashes: true, roomIdIsCreateEventHash: false },
  redaction: {
    keepsAliasesContent: true,
    keepsJoinRulesAllow: false,
    keepsMemberJoinAuthorisedVia: false,
    keepsAllCreateContent: false,
    keepsRedactionRedacts: false,
    keepsPowerLevelsInvite: false,
    keepsMemberThirdPartyInviteSigned: false,
    dropsLegacyTopLevelKeys: false,
  },
  auth: {
    specialCaseAliasesEvent: true,
    redactionDomainCheckInAuth: true,
    limitNotificationsPowerLevels: false,
    strictCanonicalJson: false,
    knocking: false,
    restrictedJoins: false,
    knockRestrictedJoinRule: false,
    integerPowerLevels: false,
    creatorIsCreateSender: false,
    redactsInContent: false,
    privilegedCreators: false,
  },
  stateRes: 'v1',
  enforceKeyValidity: false,
};

const next = (
  base: RoomVersionRules,
  id: string,
  delta: {
    eventFormat?: Partial<EventFormatRules>;
    redaction?: Partial<RedactionRules>;
    auth?: Partial<AuthRules>;
    stateRes?: StateResAlgorithm;
    enforceKeyValidity?: boolean;
  },
): RoomVersionRules => ({
  id,
  eventFormat: { ...base.eventFormat, ...delta.eventFormat },
  redaction: { ...base.redaction, ...delta.redaction },
  auth: { ...base.auth, ...delta.auth },
  stateRes: delta.stateRes ?? base.stateRes,
  enforceKeyValidity: delta.enforceKeyValidity ?? base.enforceKeyValidity,
});

const v2 = next(v1, '2', { stateRes: 'v2' });
const v3 = next(v2, '3', {
  eventFormat: { eventIdFormat: 'referenceHashBase64', referencesCarryHashes: false },
  auth: { redactionDomainCheckInAuth: false },
});
const v4 = next(v3, '4', { eventFormat: { eventIdFormat: 'referenceHashUrlSafeBase64' } });
const v5 = next(v4, '5', { enforceKeyValidity: true });
const v6 = next(v5, '6', {
  redaction: { keepsAliasesContent: false },
  auth: { specialCaseAliasesEvent: false, limitNotificationsPowerLevels: true, strictCanonicalJson: true },
});
const v7 = next(v6, '7', { auth: { knocking: true } });
const v8 = next(v7, '8', { redaction: { keepsJoinRulesAllow: true }, auth: { restrictedJoins: true } });
const v9 = next(v8, '9', { redaction: { keepsMemberJoinAuthorisedVia: true } });
const v10 = next(v9, '10', { auth: { knockRestrictedJoinRule: true, integerPowerLevels: true } });
const v11 = next(v10, '11', {
  redaction: {
    keepsAllCreateContent: true,
    keepsRedactionRedacts: true,
    keepsPowerLevelsInvite: true,
    keepsMemberThirdPartyInviteSigned: true,
    dropsLegacyTopLevelKeys: true,
  },
  auth: { creatorIsCreateSender: true, redactsInContent: true },
});
const v12 = next(v11, '12', {
  eventFormat: { roomIdIsCreateEventHash: true },
  auth: { privilegedCreators: true },
  stateRes: 'v2.1',
});

export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersionRules> = new Map(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12].map((rules) => [rules.id, rules]),
);

/** The spec recommends room version 12 for new rooms. */
export const DEFAULT_ROOM_VERSION = '12';

/** The rules of a known room version, or undefined (callers answer M_UNSUPPORTED_ROOM_VERSION). */
export const roomVersionRules = (id: string): RoomVersionRules | undefined => ROOM_VERSIONS.get(id);

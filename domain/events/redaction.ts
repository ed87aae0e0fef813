/**
 * The redaction algorithm, written once and parameterised by the room version's flags:
 * rooms/fragments/v1-redactions.md (v1–v5), v6-redactions.md (v6–v7), rooms/v8.md, v9-redactions.md
 * (v9–v10) and v11-redactions.md (v11+). Used to redact events, and to compute reference hashes and
 * the signed form of events.
 */
import { isJsonObject, type JsonObject } from '../json.ts';
import type { RedactionRules } from '../roomVersions/index.ts';
import type { Pdu } from './pdu.ts';

const KEPT_TOP_LEVEL_KEYS = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
  'prev_events', 'auth_events', 'origin_server_ts',
];
/** Kept up to v10; since v11 `origin`, `membership` and `prev_state` are dropped. */
const LEGACY_TOP_LEVEL_KEYS = ['prev_state', 'origin', 'membership'];

const POWER_LEVELS_KEYS = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

const pick = (source: JsonObject, keys: readonly string[]): JsonObject => {
  const picked: JsonObject = {};
  for (const key of keys) if (Object.hasOwn(source, key)) picked[key] = source[key]!;
  return picked;
};

/** The content keys an event type keeps when redacted. */
const redactContent = (type: unknown, content: JsonObject, rules: RedactionRules): JsonObject => {
  switch (type) {
    case 'm.room.member': {
      const kept = pick(content, rules.keepsMemberJoinAuthorisedVia ? ['membership', 'join_authorised_via_users_server'] : ['membership']);
      // Since v11: only the `signed` part of `third_party_invite` survives.
      const invite = content.third_party_invite;
      if (rules.keepsMemberThirdPartyInviteSigned && isJsonObject(invite) && Object.hasOwn(invite, 'signed')) {
        kept.third_party_invite = { signed: invite.signed! };
      }
      return kept;
    }
    case 'm.room.create':
      return rules.keepsAllCreateContent ? content : pick(content, ['creator']);
    case 'm.room.join_rules':
      return pick(content, rules.keepsJoinRulesAllow ? ['join_rule', 'allow'] : ['join_rule']);
    case 'm.room.power_levels':
      return pick(content, rules.keepsPowerLevelsInvite ? [...POWER_LEVELS_KEYS, 'invite'] : POWER_LEVELS_KEYS);
    case 'm.room.aliases':
      return rules.keepsAliasesContent ? pick(content, ['aliases']) : {};
    case 'm.room.history_visibility':
      return pick(content, ['history_visibility']);
    case 'm.room.redaction':
      return rules.keepsRedactionRedacts ? pick(content, ['redacts']) : {};
    default:
      return {};
  }
};

/**
 * Strips an event to the keys its room version protects. The result always has a `content`
 * object (empty when the event had none). Idempotent; the input is not modified.
 */
export const redactPdu = (pdu: Pdu, rules: RedactionRules): Pdu => {
  const redacted = pick(pdu, rules.dropsLegacyTopLevelKeys ? KEPT_TOP_LEVEL_KEYS : [...KEPT_TOP_LEVEL_KEYS, ...LEGACY_TOP_LEVEL_KEYS]);
  const content = pdu.content;
  redacted.content = redactContent(pdu.type, isJsonObject(content) ? content : {}, rules);
  return redacted;
};

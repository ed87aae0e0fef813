/**
 * The redaction algorithm as an SQL expression over a `room_events` row (`pdu`, `type`), generated
 * from the same RedactionRules flags as the domain's `redactPdu`, so the projection can strip a
 * target it only knows by id. projection.int.test.ts checks both agree.
 */
import type { RedactionRules } from '../../domain/index.ts';

const KEPT_TOP_LEVEL_KEYS = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
  'prev_events', 'auth_events', 'origin_server_ts',
];
const LEGACY_TOP_LEVEL_KEYS = ['prev_state', 'origin', 'membership'];
const POWER_LEVELS_KEYS = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

const textArray = (keys: readonly string[]): string => `ARRAY[${keys.map((key) => `'${key}'`).join(', ')}]::text[]`;

const CONTENT = `(CASE WHEN jsonb_typeof(pdu->'content') = 'object' THEN pdu->'content' ELSE '{}'::jsonb END)`;

const pick = (source: string, keys: readonly string[]): string =>
  `COALESCE((SELECT jsonb_object_agg(k, v) FROM jsonb_each(${source}) AS kept(k, v) WHERE k = ANY(${textArray(keys)})), '{}'::jsonb)`;

const contentExpression = (rules: RedactionRules): string => {
  const memberKeys = rules.keepsMemberJoinAuthorisedVia ? ['membership', 'join_authorised_via_users_server'] : ['membership'];
  // Since v11: only the `signed` part of `third_party_invite` survives.
  const thirdPartySigned = rules.keepsMemberThirdPartyInviteSigned
    ? ` || (CASE WHEN jsonb_typeof(${CONTENT}->'third_party_invite') = 'object' AND (${CONTENT}->'third_party_invite') ? 'signed'
         THEN jsonb_build_object('third_party_invite', jsonb_build_object('signed', ${CONTENT}->'third_party_invite'->'signed'))
         ELSE '{}'::jsonb END)`
    : '';
  return `(CASE pdu->>'type'
    WHEN 'm.room.member' THEN ${pick(CONTENT, memberKeys)}${thirdPartySigned}
    WHEN 'm.room.create' THEN ${rules.keepsAllCreateContent ? CONTENT : pick(CONTENT, ['creator'])}
    WHEN 'm.room.join_rules' THEN ${pick(CONTENT, rules.keepsJoinRulesAllow ? ['join_rule', 'allow'] : ['join_rule'])}
    WHEN 'm.room.power_levels' THEN ${pick(CONTENT, rules.keepsPowerLevelsInvite ? [...POWER_LEVELS_KEYS, 'invite'] : POWER_LEVELS_KEYS)}
    WHEN 'm.room.aliases' THEN ${rules.keepsAliasesContent ? pick(CONTENT, ['aliases']) : `'{}'::jsonb`}
    WHEN 'm.room.history_visibility' THEN ${pick(CONTENT, ['history_visibility'])}
    WHEN 'm.room.redaction' THEN ${rules.keepsRedactionRedacts ? pick(CONTENT, ['redacts']) : `'{}'::jsonb`}
    ELSE '{}'::jsonb END)`;
};

/** An SQL expression yielding the redacted form of the row's `pdu`. */
export const redactedPduSql = (rules: RedactionRules): string => {
  const topLevel = rules.dropsLegacyTopLevelKeys ? KEPT_TOP_LEVEL_KEYS : [...KEPT_TOP_LEVEL_KEYS, ...LEGACY_TOP_LEVEL_KEYS];
  return `(${pick('pdu', topLevel)} || jsonb_build_object('content', ${contentExpression(rules)}))`;
};

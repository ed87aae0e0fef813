/**
 * The server-default push rules (client-server-api/modules/push.md § Predefined Rules, v1.19).
 * Since v1.17 the legacy rules that looked for mentions in `body` are gone, so there are no
 * default content rules; `.m.rule.master` outranks every rule, the other defaults rank below the
 * user's rules of the same kind.
 */
import type { JsonObject } from '../../json.ts';

export const PUSH_RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

export interface PushRule {
  readonly rule_id: string;
  readonly default: boolean;
  readonly enabled: boolean;
  readonly actions: readonly (string | JsonObject)[];
  readonly conditions?: readonly JsonObject[];
  readonly pattern?: string;
}

export type PushRuleset = Readonly<Record<PushRuleKind, readonly PushRule[]>>;

const SOUND_DEFAULT = { set_tweak: 'sound', value: 'default' };
const HIGHLIGHT = { set_tweak: 'highlight' };
const match = (key: string, pattern: string): JsonObject => ({ kind: 'event_match', key, pattern });
const rule = (ruleId: string, conditions: JsonObject[], actions: (string | JsonObject)[], enabled = true): PushRule =>
  ({ rule_id: ruleId, default: true, enabled, conditions, actions });

/** `.m.rule.master`, first of all rules. */
export const masterRule = (): PushRule => rule('.m.rule.master', [], [], false);

export const defaultOverrideRules = (userId: string): PushRule[] => [
  rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
  rule('.m.rule.invite_for_me', [
    match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId),
  ], ['notify', SOUND_DEFAULT]),
  rule('.m.rule.member_event', [match('type', 'm.room.member')], []),
  // Since v1.7: intentional mentions.
  rule('.m.rule.is_user_mention', [
    { kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId },
  ], ['notify', SOUND_DEFAULT, HIGHLIGHT]),
  rule('.m.rule.is_room_mention', [
    { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
    { kind: 'sender_notification_permission', key: 'room' },
  ], ['notify', HIGHLIGHT]),
  rule('.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], ['notify', HIGHLIGHT]),
  rule('.m.rule.reaction', [match('type', 'm.reaction')], []),
  // Since v1.4.
  rule('.m.rule.room.server_acl', [match('type', 'm.room.server_acl'), match('state_key', '')], []),
  // Since v1.9.
  rule('.m.rule.suppress_edits', [
    { kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' },
  ], []),
];

export const defaultUnderrideRules = (): PushRule[] => [
  rule('.m.rule.call', [match('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }]),
  rule('.m.rule.encrypted_room_one_to_one', [
    { kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted'),
  ], ['notify', SOUND_DEFAULT]),
  rule('.m.rule.room_one_to_one', [
    { kind: 'room_member_count', is: '2' }, match('type', 'm.room.message'),
  ], ['notify', SOUND_DEFAULT]),
  rule('.m.rule.message', [match('type', 'm.room.message')], ['notify']),
  rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], ['notify']),
];

/** The server-default rules of each kind, in priority order. */
export const defaultRules = (userId: string): PushRuleset => ({
  override: [masterRule(), ...defaultOverrideRules(userId)],
  content: [],
  room: [],
  sender: [],
  underride: defaultUnderrideRules(),
});

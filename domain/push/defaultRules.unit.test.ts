// The spec's default rules (as Strata serves them) against representative events.
import { describe, expect, it } from 'vitest';
import { effectiveRuleset } from '../app/userData/index.ts';
import type { JsonObject } from '../json.ts';
import { evaluatePushRules, type PushContext } from './index.ts';

const ME = '@me:example.org';
const ROOM = '!room:example.org';
const defaults = effectiveRuleset(ME, undefined);

const inRoom = (members: number, overrides: Partial<PushContext> = {}): PushContext => ({
  userId: ME, displayName: 'Me Myself', roomMemberCount: members, senderPowerLevel: 0,
  notificationPowerLevels: { room: 50 }, ...overrides,
});
const event = (type: string, content: JsonObject, extra: JsonObject = {}): JsonObject =>
  ({ type, content, sender: '@alice:example.org', room_id: ROOM, event_id: '$e', origin_server_ts: 1, ...extra });
const text = (body: string, more: JsonObject = {}) => event('m.room.message', { msgtype: 'm.text', body, ...more });

describe('default push rules', () => {
  it('notifies with sound for a plain message in a two-member room (room_one_to_one)', () => {
    expect(evaluatePushRules(defaults, text('hi'), inRoom(2))).toMatchObject({
      notify: true, highlight: false, sound: 'default', ruleId: '.m.rule.room_one_to_one', tweaks: { sound: 'default' },
    });
  });

  it('notifies without sound or highlight for a message in a big room (.m.rule.message)', () => {
    expect(evaluatePushRules(defaults, text('hi all'), inRoom(30)))
      .toEqual({ notify: true, highlight: false, ruleId: '.m.rule.message', tweaks: {}, actions: ['notify'] });
  });

  it('suppresses notices (suppress_notices), even one to one', () => {
    const notice = event('m.room.message', { msgtype: 'm.notice', body: 'bot says' });
    expect(evaluatePushRules(defaults, notice, inRoom(2))).toMatchObject({ notify: false, ruleId: '.m.rule.suppress_notices' });
  });

  it('notifies for an invite for the user (invite_for_me) but not for one to someone else', () => {
    const invite = (target: string) => event('m.room.member', { membership: 'invite' }, { state_key: target });
    expect(evaluatePushRules(defaults, invite(ME), inRoom(5)))
      .toMatchObject({ notify: true, highlight: false, sound: 'default', ruleId: '.m.rule.invite_for_me' });
    expect(evaluatePushRules(defaults, invite('@bob:example.org'), inRoom(5)))
      .toMatchObject({ notify: false, ruleId: '.m.rule.member_event' });
  });

  it('does not notify for other member events (member_event)', () => {
    const join = event('m.room.member', { membership: 'join' }, { state_key: '@alice:example.org' });
    expect(evaluatePushRules(defaults, join, inRoom(2))).toMatchObject({ notify: false, highlight: false, ruleId: '.m.rule.member_event' });
  });

  it('highlights an intentional mention in m.mentions.user_ids (is_user_mention)', () => {
    const mention = text('hey', { 'm.mentions': { user_ids: ['@bob:example.org', ME] } });
    expect(evaluatePushRules(defaults, mention, inRoom(30))).toMatchObject({
      notify: true, highlight: true, sound: 'default', ruleId: '.m.rule.is_user_mention',
      tweaks: { sound: 'default', highlight: true },
    });
    const other = text('hey', { 'm.mentions': { user_ids: ['@bob:example.org'] } });
    expect(evaluatePushRules(defaults, other, inRoom(30))).toMatchObject({ highlight: false, ruleId: '.m.rule.message' });
  });

  it('highlights @room only when the sender has the notifications.room power (is_room_mention)', () => {
    const atRoom = text('@room lunch!', { 'm.mentions': { room: true } });
    expect(evaluatePushRules(defaults, atRoom, inRoom(30, { senderPowerLevel: 50 })))
      .toMatchObject({ notify: true, highlight: true, ruleId: '.m.rule.is_room_mention', tweaks: { highlight: true } });
    expect(evaluatePushRules(defaults, atRoom, inRoom(30, { senderPowerLevel: 49 })))
      .toMatchObject({ notify: true, highlight: false, ruleId: '.m.rule.message' });
    // The room may lower the level; an absent key needs the default 50.
    expect(evaluatePushRules(defaults, atRoom, inRoom(30, { notificationPowerLevels: { room: 0 } })))
      .toMatchObject({ highlight: true, ruleId: '.m.rule.is_room_mention' });
    expect(evaluatePushRules(defaults, atRoom, inRoom(30, { senderPowerLevel: 49, notificationPowerLevels: {} })))
      .toMatchObject({ highlight: false });
    // `"room": "true"` is not `true`: no casting.
    const stringly = text('@room', { 'm.mentions': { room: 'true' } });
    expect(evaluatePushRules(defaults, stringly, inRoom(30, { senderPowerLevel: 100 }))).toMatchObject({ highlight: false });
  });

  it('does not notify for edits (suppress_edits) or reactions (reaction)', () => {
    const edit = text('* fixed', { 'm.new_content': { body: 'fixed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$o' } });
    expect(evaluatePushRules(defaults, edit, inRoom(2))).toMatchObject({ notify: false, ruleId: '.m.rule.suppress_edits' });
    const reply = text('yes', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$o' } } });
    expect(evaluatePushRules(defaults, reply, inRoom(2))).toMatchObject({ notify: true, ruleId: '.m.rule.room_one_to_one' });
    const reaction = event('m.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$o', key: '👍' } });
    expect(evaluatePushRules(defaults, reaction, inRoom(2))).toMatchObject({ notify: false, ruleId: '.m.rule.reaction' });
  });

  it('notifies for encrypted events: with sound one to one, without in groups', () => {
    const encrypted = event('m.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgA' });
    expect(evaluatePushRules(defaults, encrypted, inRoom(2)))
      .toMatchObject({ notify: true, sound: 'default', ruleId: '.m.rule.encrypted_room_one_to_one' });
    const group = evaluatePushRules(defaults, encrypted, inRoom(3));
    expect(group).toMatchObject({ notify: true, highlight: false, ruleId: '.m.rule.encrypted' });
    expect(group.sound).toBeUndefined();
  });

  it('highlights a tombstone state event, but not a tombstone without a state key', () => {
    const tombstone = event('m.room.tombstone', { body: 'moved', replacement_room: '!new:example.org' }, { state_key: '' });
    expect(evaluatePushRules(defaults, tombstone, inRoom(30))).toMatchObject({ notify: true, highlight: true, ruleId: '.m.rule.tombstone' });
    const notState = event('m.room.tombstone', { body: 'moved', replacement_room: '!new:example.org' });
    expect(evaluatePushRules(defaults, notState, inRoom(30))).toEqual({ notify: false, highlight: false, tweaks: {}, actions: [] });
  });

  it('rings for calls, ignores server ACL changes and unmatched events', () => {
    expect(evaluatePushRules(defaults, event('m.call.invite', { call_id: 'c' }), inRoom(2)))
      .toMatchObject({ notify: true, sound: 'ring', ruleId: '.m.rule.call' });
    const acl = event('m.room.server_acl', { allow: ['*'] }, { state_key: '' });
    expect(evaluatePushRules(defaults, acl, inRoom(2))).toMatchObject({ notify: false, ruleId: '.m.rule.room.server_acl' });
    const topic = event('m.room.topic', { topic: 'hi' }, { state_key: '' });
    expect(evaluatePushRules(defaults, topic, inRoom(2))).toEqual({ notify: false, highlight: false, tweaks: {}, actions: [] });
  });

  it("never notifies users of their own events, even mentions of themselves", () => {
    const own = text('note to self', { 'm.mentions': { user_ids: [ME] } }, );
    expect(evaluatePushRules(defaults, { ...own, sender: ME }, inRoom(2))).toEqual({ notify: false, highlight: false, tweaks: {}, actions: [] });
  });

  it('silences everything when the user enables .m.rule.master', () => {
    const stored = { global: { override: [{ rule_id: '.m.rule.master', default: true, enabled: true, actions: [] }] } };
    const muted = effectiveRuleset(ME, stored);
    const mention = text('hey', { 'm.mentions': { user_ids: [ME] } });
    expect(evaluatePushRules(muted, mention, inRoom(2))).toMatchObject({ notify: false, highlight: false, ruleId: '.m.rule.master' });
  });

  it("applies the user's changed actions on a default rule", () => {
    const stored = { global: { underride: [{ rule_id: '.m.rule.message', default: true, enabled: true, actions: ['dont_notify'] }] } };
    expect(evaluatePushRules(effectiveRuleset(ME, stored), text('hi'), inRoom(30)))
      .toMatchObject({ notify: false, ruleId: '.m.rule.message' });
  });
});

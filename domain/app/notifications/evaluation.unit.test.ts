import { describe, expect, it } from 'vitest';
import type { Pdu } from '../../events/index.ts';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { pushRoomState, threadOf } from './index.ts';

const event = (id: string, content: JsonObject): StoredEvent => ({
  eventId: id, roomId: '!r:x', roomVersion: '10', partition: 0, offset: 0, type: 'm.room.message', stateKey: null, sender: '@b:x',
  originServerTs: 0, pdu: { content } as unknown as Pdu, redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

describe('threadOf (push.md § Receiving notifications: follow relations, at most 3 hops)', () => {
  const inThread = event('$t', { body: 'x', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } });
  const edit = event('$edit', { 'm.relates_to': { rel_type: 'm.replace', event_id: '$t' } });
  const known = new Map([inThread, edit].map((e) => [e.eventId, e]));

  it('names the root of an m.thread relation and follows other relations to their target', () => {
    expect(threadOf(inThread, known)).toBe('$root');
    expect(threadOf(event('$r', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$edit', key: '👍' } }), known)).toBe('$root');
  });

  it('puts plain events, rich replies and relations to unknown events in the main timeline', () => {
    expect(threadOf(event('$p', { body: 'hi' }), known)).toBe('main');
    expect(threadOf(event('$q', { body: 'hi', 'm.relates_to': { 'm.in_reply_to': { event_id: '$t' } } }), known)).toBe('main');
    expect(threadOf(event('$u', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$elsewhere' } }), known)).toBe('main');
  });

  it('gives up after three hops', () => {
    const chain = [event('$a', { 'm.relates_to': { rel_type: 'm.replace', event_id: '$edit' } })];
    chain.push(event('$b', { 'm.relates_to': { rel_type: 'm.replace', event_id: '$a' } }));
    const deep = new Map([...known, ...chain.map((e) => [e.eventId, e] as const)]);
    expect(threadOf(chain[0]!, deep)).toBe('$root');
    expect(threadOf(chain[1]!, deep)).toBe('main');
  });
});

describe('push states share the power levels they hold', () => {
  const levels = (hash: string | undefined, users: JsonObject, redacted = false): StoredEvent => ({
    ...event('$pl', {}), type: 'm.room.power_levels', stateKey: '',
    pdu: { type: 'm.room.power_levels', content: { users }, ...(hash === undefined ? {} : { hashes: { sha256: hash } }) } as unknown as Pdu,
    redactedBecause: redacted ? event('$redaction', {}) : null,
  });

  it('reads of one stored event give one object; another hash or a redaction give their own', () => {
    const first = pushRoomState({ joinedMembers: 2, powerLevels: levels('h1', { '@a:x': 100 }) });
    const again = pushRoomState({ joinedMembers: 3, powerLevels: levels('h1', { '@a:x': 100 }) });
    expect(again.powerLevels).toBe(first.powerLevels);
    const other = pushRoomState({ joinedMembers: 2, powerLevels: levels('h2', { '@a:x': 50 }) });
    expect(other.powerLevels).not.toBe(first.powerLevels);
    expect(other.powerLevels?.content).toEqual({ users: { '@a:x': 50 } });
    expect(pushRoomState({ joinedMembers: 2, powerLevels: levels('h1', {}, true) }).powerLevels?.content).toEqual({ users: {} });
  });

  it('never shares an event without a content hash', () => {
    const first = pushRoomState({ joinedMembers: 2, powerLevels: levels(undefined, { '@a:x': 100 }) });
    const second = pushRoomState({ joinedMembers: 2, powerLevels: levels(undefined, { '@a:x': 0 }) });
    expect(second.powerLevels?.content).toEqual({ users: { '@a:x': 0 } });
    expect(second.powerLevels).not.toBe(first.powerLevels);
  });
});

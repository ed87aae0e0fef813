/**
 * For unread-count tests: a room's history as the read model holds it, serving the unread windows
 * `countUnread` asks for and counting what it hands out. Not used outside tests.
 */
import type { Pdu } from '../../domain/events/index.ts';
import type { JsonObject } from '../../domain/index.ts';
import type { PushStateAt, StoredEvent } from '../../domain/ports/index.ts';
import type { SyncContext } from '../../domain/app/sync/index.ts';

export const TEST_ROOM = '!room:x';

export const roomHistory = (me: string) => {
  const events: StoredEvent[] = [];
  const calls = { windows: 0, evaluated: 0 };
  const add = (sender: string, type: string, content: JsonObject, stateKey?: string): StoredEvent => {
    const offset = events.length;
    const previous = stateKey === undefined ? undefined : events.findLast((e) => e.type === type && e.stateKey === stateKey);
    const event: StoredEvent = {
      eventId: `$e${offset}`, roomId: TEST_ROOM, roomVersion: '10', partition: 0, offset, type, stateKey: stateKey ?? null, sender,
      originServerTs: 1000 + offset, pdu: { type, sender, content, room_id: TEST_ROOM } as unknown as Pdu, redactedBecause: null, local: null,
      replacesState: previous?.eventId ?? null, prevContent: (previous?.pdu.content as JsonObject | undefined) ?? null,
    };
    events.push(event);
    return event;
  };
  const stateAt = (after: number): PushStateAt => {
    const latest = new Map<string, StoredEvent>();
    for (const event of events) if (event.offset <= after && event.stateKey !== null) latest.set(`${event.type}|${event.stateKey}`, event);
    const joinedMembers = [...latest.values()].filter((e) => e.type === 'm.room.member' && (e.pdu.content as JsonObject).membership === 'join').length;
    const ownMember = latest.get(`m.room.member|${me}`);
    const powerLevels = latest.get('m.room.power_levels|');
    const create = latest.get('m.room.create|');
    return { joinedMembers, ...(ownMember ? { ownMember } : {}), ...(powerLevels ? { powerLevels } : {}), ...(create ? { create } : {}) };
  };
  const ctx = {
    sync: {
      unreadWindow: async (_roomId: string, userId: string, after: number, before: number, withState: boolean, limit?: number) => {
        calls.windows++;
        const window = events
          .filter((e) => e.offset > after && e.offset < before && (e.sender !== userId || e.stateKey !== null || e.type === 'm.room.redaction'))
          .slice(0, limit);
        calls.evaluated += window.length;
        return withState ? { events: window, stateBefore: stateAt(after) } : { events: window };
      },
    },
    rooms: { event: async (id: string) => events.find((e) => e.eventId === id) },
  } as unknown as SyncContext;
  /** Redacts `target` as the read model does: the redaction joins the log, the target loses its content. */
  const redact = (target: StoredEvent, sender: string): StoredEvent => {
    const redaction = add(sender, 'm.room.redaction', { redacts: target.eventId });
    events[target.offset] = { ...target, redactedBecause: redaction, pdu: { ...target.pdu, content: {} } };
    return redaction;
  };
  return { events, calls, add, ctx, redact };
};

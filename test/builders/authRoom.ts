/*
 * Test support: builds RoomEvents without hashes or signatures (ids are given) and walks a room
 * through its life, applying allowed state events. Used by the *.unit.test.ts files beside it.
 */
import { expect } from 'vitest';
import type { JsonObject } from '../../domain/index.ts';
import type { RoomEvent } from '../../domain/events/index.ts';
import type { RoomVersionRules } from '../../domain/roomVersions/index.ts';
import type { AuthDecision, StateLookup } from '../../domain/auth/index.ts';
import { stateLookupOf } from '../../domain/auth/index.ts';
import { checkAuthRules } from '../../domain/auth/index.ts';
import { authEventTuples, checkAuthEventsList } from '../../domain/auth/index.ts';

export interface EventSpec {
  readonly type: string;
  readonly sender: string;
  readonly stateKey?: string;
  readonly content?: JsonObject;
  readonly prevEventIds?: readonly string[];
  readonly redacts?: string;
  readonly eventId?: string;
  readonly roomId?: string;
  /** Extra wire fields (e.g. `room_id` on a v12 create event). */
  readonly pdu?: JsonObject;
}

let counter = 0;

/** A RoomEvent from a spec; the event id is `$<n>:<sender domain>` (the v1–v2 shape, fine everywhere). */
export const buildEvent = (spec: EventSpec, roomId: string): RoomEvent => {
  counter += 1;
  const eventId = spec.eventId ?? `$e${counter}:${spec.sender.slice(spec.sender.indexOf(':') + 1)}`;
  const content = spec.content ?? {};
  return {
    eventId,
    roomId: spec.roomId ?? roomId,
    type: spec.type,
    stateKey: spec.stateKey,
    sender: spec.sender,
    content,
    originServerTs: counter,
    depth: counter,
    prevEventIds: spec.prevEventIds ?? [],
    authEventIds: [],
    redacts: spec.redacts,
    pdu: { type: spec.type, sender: spec.sender, content, ...(spec.pdu ?? {}) },
  };
};

export interface TestRoom {
  readonly rules: RoomVersionRules;
  readonly roomId: string;
  readonly state: StateLookup;
  /** Builds an event in this room whose prev event is the last accepted one. */
  event(spec: EventSpec): RoomEvent;
  /** Checks an event against the current state, both ways (full state and cited auth events). */
  check(event: RoomEvent): AuthDecision;
  /** Builds, checks and, when allowed, applies an event; returns the decision. */
  send(spec: EventSpec): AuthDecision & { readonly event: RoomEvent };
}

/**
 * A room in `rules`' version whose create event is sent by `creator` (v1–v10 also name it in
 * `content.creator`), with `createContent` merged in.
 */
export const createTestRoom = (rules: RoomVersionRules, creator: string, createContent: JsonObject = {}): TestRoom => {
  const v12 = rules.eventFormat.roomIdIsCreateEventHash;
  const createId = v12 ? `$create${++counter}` : `$create${++counter}:${creator.slice(creator.indexOf(':') + 1)}`;
  const roomId = v12 ? `!${createId.slice(1)}` : `!room${counter}:${creator.slice(creator.indexOf(':') + 1)}`;
  const content: JsonObject = { room_version: rules.id, ...(rules.auth.creatorIsCreateSender ? {} : { creator }), ...createContent };
  const create = buildEvent({ type: 'm.room.create', sender: creator, stateKey: '', content, eventId: createId }, roomId);
  const current = new Map<string, RoomEvent>([[`m.room.create\u0000`, create]]);
  const state: StateLookup = (type, stateKey) => current.get(`${type}\u0000${stateKey}`);
  let last = create.eventId;

  const check = (event: RoomEvent): AuthDecision => {
    const full = checkAuthRules(event, state, rules);
    if (event.type === 'm.room.create') return full;
    // The auth events the selection algorithm picks must be enough to reach the same decision.
    const authEvents = authEventTuples(event, rules)
      .map((t) => state(t.type, t.stateKey))
      .filter((e): e is RoomEvent => e !== undefined);
    const list = checkAuthEventsList(event, authEvents, rules);
    if (!list.allowed) throw new Error(`selected auth events fail checkAuthEventsList: ${list.reason}`);
    const fromAuthEvents = checkAuthRules(event, stateLookupOf([...authEvents, create]), rules);
    if (fromAuthEvents.allowed !== full.allowed) {
      throw new Error(`decision differs between full state and auth events for ${event.type}`);
    }
    return full;
  };

  const room: TestRoom = {
    rules,
    roomId,
    state,
    event: (spec) => buildEvent({ prevEventIds: [last], ...spec }, roomId),
    check,
    send: (spec) => {
      const event = room.event(spec);
      const decision = check(event);
      if (decision.allowed) {
        last = event.eventId;
        if (event.stateKey !== undefined) current.set(`${event.type}\u0000${event.stateKey}`, event);
      }
      return { ...decision, event };
    },
  };
  return room;
};

/** Asserts an allowed decision, showing the denial reason when it is not. */
export const expectAllowed = (decision: AuthDecision): void => {
  expect(decision.allowed ? 'allowed' : decision.reason).toBe('allowed');
};

/** Asserts a denial whose reason matches `reason`. */
export const expectDenied = (decision: AuthDecision, reason: RegExp): void => {
  expect(decision.allowed).toBe(false);
  if (!decision.allowed) expect(decision.reason).toMatch(reason);
};

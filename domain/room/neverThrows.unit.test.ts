/** The decider answers arbitrary input with a reason, never an exception. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed } from '../events/index.ts';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { NO_LOOKUPS, type Decision, type RoomLookups } from './commands.ts';
import { decide, evolve, initialState } from './decider.ts';
import type { RoomState } from './state.ts';

const key = signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(3));
const local = { userId: '@alice:a.test', deviceId: null, txnId: null };
const json = fc.jsonValue() as fc.Arbitrary<unknown>;
const jsonObject = fc.dictionary(fc.string(), fc.jsonValue()) as fc.Arbitrary<JsonObject>;

const created = (version: string): { state: RoomState; lookups: RoomLookups } => {
  const decision = decide(
    { type: 'createRoom', roomId: '!r:a.test', createContent: { room_version: version, creator: '@alice:a.test' }, creator: '@alice:a.test', events: [{ type: 'm.room.member', stateKey: '@alice:a.test', sender: '@alice:a.test', content: { membership: 'join' } }], signingKey: key, local, now: 1 },
    initialState,
    NO_LOOKUPS,
  );
  if (decision.outcome !== 'records') throw new Error('room creation failed');
  const state = decision.records.reduce(evolve, initialState);
  return { state, lookups: NO_LOOKUPS };
};

const isDecision = (d: Decision) => ['records', 'refused', 'dropped', 'missing'].includes(d.outcome);

describe.each([...ROOM_VERSIONS.keys()])('decide on arbitrary input, room version %s', (version) => {
  const { state, lookups } = created(version);

  it('ingestPdu never throws', () => {
    fc.assert(
      fc.property(json, (pdu) => {
        expect(isDecision(decide({ type: 'ingestPdu', pdu: pdu as JsonObject, origin: 'b.test', receivedAt: 2 }, state, lookups))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('sendLocal never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), fc.string(), jsonObject, (type, stateKey, sender, content) => {
        const event = { type, sender, content, ...(stateKey === undefined ? {} : { stateKey }) };
        expect(isDecision(decide({ type: 'sendLocal', event, signingKey: key, local, now: 3 }, state, lookups))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('createRoom never throws on arbitrary create content', () => {
    fc.assert(
      fc.property(jsonObject, (createContent) => {
        const decision = decide({ type: 'createRoom', roomId: '!x:a.test', createContent, creator: '@alice:a.test', events: [], signingKey: key, local, now: 4 }, initialState, lookups);
        expect(isDecision(decision)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

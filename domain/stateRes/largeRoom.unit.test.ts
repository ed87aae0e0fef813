/**
 * The benchmark shape: a room with 10,000 members and 100 concurrent forks that conflict on power
 * levels, kicks, leaves and topics. Checks the outcome (timing is `npm run bench domain`'s job).
 */
import { describe, expect, it } from 'vitest';
import { stateKeyOf } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { resolveState } from './index.ts';
import { buildLargeConflictedRoom, FORKS, MEMBERS, user } from '../../test/fixtures/index.ts';

describe('state resolution at scale', () => {
  for (const version of ['10', '12']) {
    it(`resolves ${FORKS} forks of a ${MEMBERS}-member room (room v${version})`, () => {
      const rules = roomVersionRules(version) as RoomVersionRules;
      const { store, stateSets } = buildLargeConflictedRoom(rules);
      const resolved = resolveState({ stateSets, getEvent: (id) => store.get(id) }, rules);
      // Every fork's power levels is allowed; the latest (highest origin_server_ts) is applied last.
      expect(resolved.get(stateKeyOf('m.room.power_levels', ''))).toBe(`$pl-${FORKS - 1}`);
      // The topic authorised by the winning power levels sits at mainline position 0: it wins.
      expect(resolved.get(stateKeyOf('m.room.topic', ''))).toBe(`$topic-${FORKS - 1}`);
      // Kicks and leaves touch distinct users: all of them survive.
      for (let f = 0; f < FORKS; f += 1) {
        expect(resolved.get(stateKeyOf('m.room.member', user(FORKS + f)))).toBe(`$kick-${f}`);
        expect(resolved.get(stateKeyOf('m.room.member', user(2 * FORKS + f)))).toBe(`$leave-${f}`);
      }
      expect(resolved.size).toBe(4 + MEMBERS + 1);
    }, 60_000);
  }
});

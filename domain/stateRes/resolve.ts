import type { StateMap } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { StateResInput } from './types.ts';
import { resolveV1 } from './v1.ts';
import { resolveV2 } from './v2.ts';

/**
 * The resolution of a set of states with the room version's algorithm (`rules.stateRes`).
 * Pure and synchronous: every event it needs comes from `input.getEvent`.
 */
export const resolveState = (input: StateResInput, rules: RoomVersionRules): StateMap => {
  if (input.stateSets.length === 0) return new Map();
  if (input.stateSets.length === 1) return new Map(input.stateSets[0]);
  return rules.stateRes === 'v1' ? resolveV1(input, rules) : resolveV2(input, rules);
};

export type { AuthDecision, StateLookup } from './decision.ts';
export { stateLookupOf } from './decision.ts';
export { checkAuthRules } from './checkAuthRules.ts';
export { authEventTuples, checkAuthEventsList, createEventIsAuthEvent } from './authEvents.ts';
export { authorisingServerOf } from './memberRules.ts';
export { redactionTakesEffect } from './otherRules.ts';
export {
  NAMED_POWER_LEVELS,
  isPowerEvent,
  namedPowerLevel,
  notificationPowerLevel,
  parsePowerLevel,
  powerLevelOf,
  powerLevelsContentOf,
  requiredPowerForEvent,
  roomCreators,
  senderPowerForStateRes,
} from './powerLevels.ts';
export type { NamedPowerLevel } from './powerLevels.ts';
export { isValidUserId, joinRuleOf, membershipOf } from './content.ts';

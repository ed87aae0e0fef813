export * from './records.ts';
export * from './commands.ts';
export * from './state.ts';
export { decide, roomDecider, initialState } from './decider.ts';
export { currentStateLookup } from './localEvents.ts';
export { decideImportedState, decideOutliers, type ImportedStateInput, type ImportedStateDecision } from './importedState.ts';
export { membershipTemplate, type MembershipTemplateRequest } from './remoteMembership.ts';

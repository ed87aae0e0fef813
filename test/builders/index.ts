/** Builders for tests: in-memory stores, fake clocks, rooms assembled event by event. */
export { buildEvent, createTestRoom, expectAllowed, expectDenied, type EventSpec, type TestRoom } from './authRoom.ts';
export { TEST_ROOM, roomHistory } from './unreadRoom.ts';
export { createMemoryAccountStore, type MemoryAccountStore } from './memoryAccountStore.ts';
export { createCountingRandom, createTestClock, createTestContext, fakePasswordHasher, guarded, type TestAccountsContext, type TestClock } from './accountsContext.ts';
export { appendRecords, countingProjection } from './countingProjection.ts';
export { eventStore, graphEvent, roomEventFromJson, stateMapOf, stateMapToRecord } from './stateResEvents.ts';
export { ROOM, member, pusher, storedEvent } from './pushEvents.ts';
export * as deciderHarness from './roomHarness.ts';
export { RoomRecords } from './acceptedRecords.ts';
export { createMemoryThreePidStore } from './memoryThreePidStore.ts';

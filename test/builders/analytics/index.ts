/** Test fixtures of the analytics view, shared by its int tests and the gateway's e2e tests. */
export { LOCAL_SERVER, REMOTE_SERVER, TestRoom, appendRoomRecords } from './testRooms.ts';
export { byKey, expectedActivity, expectedCounts } from './expected.ts';
export { PLAIN_ROOM_ID, SCENARIO_START, SECRET_MARKER, TRICKY_ROOM_ID, TRICKY_TYPE, buildScenario, type Scenario } from './scenario.ts';
export {
  BRIDGED_ROOM_ID, BRIDGED_USER, BRIDGE_REGISTRATION, WAREHOUSE_START, buildWarehouseScenario, type WarehouseScenario,
} from './warehouse.ts';
export { expectedRollups, type ExpectedRollups } from './rollups.ts';
export {
  HOSTILE_ROOM_ID, HOSTILE_START, HOSTILE_TYPE, analystFacts, buildAnalystScenario, bulkWarehouseRows, expectedActiveUsers,
  expectedRoomDetail, expectedSeries, expectedTop, expectedUserDetail, redactedTargets,
  type AnalystFact, type ExpectedActive, type ExpectedTopRow,
} from './analyst.ts';

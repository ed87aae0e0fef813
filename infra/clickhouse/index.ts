export { ClickHouseQueryError, createClickHouse } from './clickhouseClient.ts';
export type { ClickHouse, ClickHouseOptions } from './clickhouseClient.ts';
export { chDateTime, chIdentifier, chNumber, chString, formatDateTimeUtc } from './literals.ts';

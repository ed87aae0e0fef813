export { ClickHouseQueryError, createClickHouse } from './clickhouseClient.ts';
export type { ClickHouse, ClickHouseCompactResult, ClickHouseOptions, ClickHouseQuerySettings } from './clickhouseClient.ts';


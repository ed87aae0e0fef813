export { ClickHouseQueryError, createClickHouse } from './clickhouseClient.ts';
export type { ClickHouse, ClickHouseOptions } from './clickhouseClient.ts';


/**
 * Where the real services used by *.int.test.ts and *.e2e.test.ts listen. The scripts under
 * infra/services/ start them on these loopback ports; STRATA_TEST_* variables override them.
 */
export const testServices = {
  kafkaBrokers: (process.env.STRATA_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
  postgresUrl: process.env.STRATA_TEST_POSTGRES_URL ?? 'postgres://strata:strata@127.0.0.1:15432/strata',
  clickhouseUrl: process.env.STRATA_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:18123',
} as const;

import { defineConfig } from 'vitest/config';

// Three tiers, told apart by file name: *.unit.test.ts (pure, no services), *.int.test.ts (real
// Kafka/PostgreSQL/ClickHouse, started by test/setup/services.ts), *.e2e.test.ts (HTTP against a
// running server). `npm test` runs all of them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{domain,projections,gateways,infra,test}/**/*.unit.test.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['{domain,projections,gateways,infra,test}/**/*.int.test.ts'],
          globalSetup: ['test/setup/services.ts'],
          setupFiles: ['test/setup/kafkaClient.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['{domain,projections,gateways,infra,test}/**/*.e2e.test.ts'],
          // The servers they start serve the analytics dashboard: built first (npm run build).
          globalSetup: ['test/setup/services.ts', 'test/setup/dashboard.ts'],
          setupFiles: ['test/setup/kafkaClient.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

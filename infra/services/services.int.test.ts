// The services started by test/setup/services.ts (through infra/services/all.sh) answer real
// requests at the addresses the setup hands to test workers, by inject() and by environment.
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';

const services = inject('strataTestServices');

describe('test services', () => {
  it('reach the workers through provide/inject and the environment', () => {
    expect(services.kafkaBrokers.length).toBeGreaterThan(0);
    expect(process.env.STRATA_TEST_SERVICES).toBe(services.managed.join(','));
    expect(process.env.STRATA_TEST_KAFKA_BROKERS).toBe(services.kafkaBrokers.join(','));
    expect(process.env.STRATA_TEST_POSTGRES_URL).toBe(services.postgresUrl);
    expect(process.env.STRATA_TEST_CLICKHOUSE_URL).toBe(services.clickhouseUrl);
  });

  it('Kafka answers a metadata request and refuses to auto-create topics', async () => {
    const kafka = new Kafka({ clientId: 'strata-services-test', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toHaveLength(1);
      const config = await admin.describeConfigs({
        resources: [{ type: 4 /* BROKER */, name: String(cluster.brokers[0]!.nodeId), configNames: ['auto.create.topics.enable'] }],
        includeSynonyms: false,
      });
      expect(config.resources[0]!.configEntries[0]!.configValue).toBe('false');
    } finally {
      await admin.disconnect();
    }
  });

  it('PostgreSQL accepts user strata on database strata', async () => {
    const client = new pg.Client({ connectionString: services.postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; role: string }>('SELECT current_database() AS db, current_user AS role');
      expect(rows).toEqual([{ db: 'strata', role: 'strata' }]);
    } finally {
      await client.end();
    }
  });

  it('ClickHouse answers /ping and has the strata database', async () => {
    expect(await (await fetch(`${services.clickhouseUrl}/ping`)).text()).toBe('Ok.\n');
    const response = await fetch(`${services.clickhouseUrl}/?database=strata`, { method: 'POST', body: 'SELECT currentDatabase()' });
    expect(response.status).toBe(200);
    expect((await response.text()).trim()).toBe('strata');
  });
});

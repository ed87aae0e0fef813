import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKafkaNamespace } from '../harness/services.ts';
import { testServices } from '../setup/env.ts';
import { startServer, type RunningServer } from './serverProcess.ts';

// A database and a Kafka namespace of its own: the server name pinned in the database and the
// namespace's writer lease never meet another test's.
const database = `strata_e2e_${randomBytes(4).toString('hex')}`;
const namespace = `e2e-dist-${randomBytes(4).toString('hex')}`;
const adminUrl = testServices.postgresUrl;
const serverUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
})();

const admin = async (sql: string) => {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

let dataDir: string | undefined;
let server: RunningServer | undefined;
beforeAll(async () => {
  await admin(`CREATE DATABASE ${database}`);
  dataDir = await mkdtemp(path.join(tmpdir(), 'strata-e2e-dist-'));
  server = await startServer({
    STRATA_DATA_DIR: dataDir,
    STRATA_LISTEN: '127.0.0.1:0',
    STRATA_KAFKA_BROKERS: testServices.kafkaBrokers.join(','),
    STRATA_KAFKA_NAMESPACE: namespace,
    STRATA_POSTGRES_URL: serverUrl,
    STRATA_CLICKHOUSE_URL: testServices.clickhouseUrl,
    STRATA_CLICKHOUSE_DATABASE: 'strata_e2e',
  });
});
afterAll(async () => {
  if (server !== undefined && server.child.exitCode === null) await server.stop('SIGKILL');
  await admin(`DROP DATABASE IF EXISTS ${database}`);
  await deleteKafkaNamespace(testServices.kafkaBrokers, namespace);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const running = (): RunningServer => {
  if (server === undefined) throw new Error('the server did not start');
  return server;
};

describe('the server process with Kafka, PostgreSQL and ClickHouse', () => {
  it('runs in distributed mode', () => {
    expect(running().logs.find((line) => line.mode !== undefined)).toMatchObject({
      mode: 'distributed', log: 'kafka', database: 'postgres', clickhouse: true,
    });
  });

  it('reports all three dependencies up on /health', async () => {
    const response = await fetch(`${running().url}/health`);
    const consumer = { state: 'running', retries: 0, since: expect.any(String) as unknown };
    expect(await response.json()).toEqual({
      status: 'ok',
      dependencies: { log: 'up', database: 'up', clickhouse: 'up' },
      consumers: { rooms: consumer, push_gateway: consumer, federation_sender: consumer, analytics: consumer, search: consumer },
    });
    expect(response.status).toBe(200);
  });

  it('exits 0 on SIGTERM, closing ClickHouse, the database and the log', async () => {
    const result = await running().stop('SIGTERM');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const stopped = result.logs.filter((line) => typeof line.subsystem === 'string' && String(line.msg).startsWith('stopped'))
      .map((line) => line.subsystem);
    // Reverse order of start: nothing is stopped while something started after it still runs.
    expect(stopped).toEqual([
      'websocket gateway', 'http server', 'analytics projection', 'push gateway client', 'push sender', 'media sweep', 'appservice sender', 'application service client', 'identity servers', 'typing timeouts',
      'federation sender', 'erasure sweepers', 'search projection', 'rooms projection',
      'federation client', 'clickhouse', 'database', 'room log',
    ]);
  });
});

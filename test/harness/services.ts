/**
 * What a distributed-mode test server borrows from the shared test services (test/setup): a
 * PostgreSQL database of its own, created through the `strata` role and dropped at the end, and a
 * Kafka namespace whose topics and consumer groups are deleted at the end.
 */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { inject } from 'vitest';
import type { StrataTestServices } from '../setup/services.ts';

/** The services test/setup/services.ts made sure of for this run. */
export const runServices = (): StrataTestServices => inject('strataTestServices');

export interface RunDatabase {
  /** Connection URL of the new database (same role and host as the admin URL). */
  readonly url: string;
  drop(): Promise<void>;
}

const withAdmin = async <T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
};

/** `name` must be a plain identifier (it is interpolated into CREATE/DROP DATABASE). */
export const createRunDatabase = async (adminUrl: string, name: string): Promise<RunDatabase> => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE (PostgreSQL 13+) ends connections a stopped server may have left half-closed. It fails
    // while a backend of another role (an autovacuum worker) is on the database: tried again.
    drop: async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
          return;
        } catch (error) {
          if (attempt >= 5 || !/pg_signal_backend|being accessed by other users/.test((error as Error).message)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
    },
  };
};

/** Deletes every topic and consumer group of `namespace` (see infra/kafka/namespace.ts). */
export const deleteKafkaNamespace = async (brokers: readonly string[], namespace: string): Promise<void> => {
  const prefix = `${namespace}.`;
  const admin = new Kafka({ brokers: [...brokers], clientId: `strata-e2e-cleanup-${namespace}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
};

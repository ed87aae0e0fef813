/**
 * Opens the storage the config asks for. Without Kafka or PostgreSQL configured, Strata runs on its
 * embedded defaults in the data directory (`<dataDir>/log`, `<dataDir>/pglite`), so one process
 * needs nothing else; each external service replaces its embedded counterpart when configured.
 * Unreachable services become StartupErrors naming the service and where it was looked for.
 *
 * One process writes a deployment's log (docs/ARCHITECTURE.md, "One writer per namespace"): the
 * data directory is locked while an embedded store lives in it, and a Kafka namespace is held
 * through the writer lease; a second process is refused at start-up.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { RoomLog, SqlDatabase } from '../../domain/index.ts';
import type { StrataConfig } from '../config/index.ts';
import type { ClickHouse } from '../clickhouse/index.ts';
import { createEmbeddedLog } from '../embedded/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { lockDataDir, type DataDirLock } from './dataDirLock.ts';
import { StartupError, reasonOf, withStartupDeadline } from './startupError.ts';
import { acquireWriterLease, withWriterLease, type WriterLease } from './writerLease.ts';

/** How long a configured external service may take to answer at start-up. */
const CONNECT_DEADLINE_MS = 30_000;

/** A small topic every mode has: server lifecycle records, and the log's health probe. */
export const SERVER_TOPIC = 'strata.server';

export interface OpenedLog {
  readonly log: RoomLog;
  readonly kind: 'embedded' | 'kafka';
  /** Where it lives, for the mode line (no secrets). */
  readonly where: string;
  /** Kafka: the namespace's writer lease, which /health reports (the embedded log's lock cannot lapse). */
  readonly lease?: WriterLease;
}

export interface OpenedDatabase {
  readonly db: SqlDatabase;
  readonly kind: 'pglite' | 'postgres';
  readonly where: string;
}

/** Re-throws as a StartupError, prefixed with `what` unless the adapter's message says it already. */
const failure = (what?: string) => (error: unknown): never => {
  if (error instanceof StartupError) throw error;
  const reason = reasonOf(error);
  throw new StartupError(what === undefined ? reason : `${what}: ${reason}`, { cause: error });
};

export const openRoomLog = async (config: StrataConfig, logger: Logger): Promise<OpenedLog> => {
  // The embedded log and PGlite both live in the data directory: whichever of them runs, it is locked.
  const lock = config.kafkaBrokers === undefined || config.postgresUrl === undefined
    ? await lockDataDir(path.resolve(config.dataDir)).catch(failure(`cannot lock the data directory ${path.resolve(config.dataDir)}`))
    : undefined;
  try {
    const opened = await openLog(config, logger);
    return lock === undefined ? opened : { ...opened, log: releasingOnClose(opened.log, lock) };
  } catch (error) {
    await lock?.release().catch(() => undefined);
    throw error;
  }
};

/** The data directory is released once the log is closed, the last step of a stop. */
const releasingOnClose = (log: RoomLog, lock: DataDirLock): RoomLog => ({
  ...log,
  close: async () => {
    try {
      await log.close();
    } finally {
      await lock.release();
    }
  },
});

const openLog = async (config: StrataConfig, logger: Logger): Promise<OpenedLog> => {
  if (config.kafkaBrokers === undefined) {
    const dir = path.resolve(config.dataDir, 'log');
    const log = await createEmbeddedLog({ dir, logger: logger.child({ subsystem: 'embedded-log' }) })
      .catch(failure(`cannot open the embedded log in ${dir}`));
    return { log, kind: 'embedded', where: dir };
  }
  // External adapters load only when configured: the embedded default never pays for their clients.
  const { createKafkaLog, withNamespace } = await import('../kafka/index.ts');
  const where = config.kafkaBrokers.join(',') + (config.kafkaNamespace === undefined ? '' : ` namespace ${config.kafkaNamespace}`);
  const what = `cannot reach Kafka at ${where}`;
  const kafkaLog = await withStartupDeadline(what, CONNECT_DEADLINE_MS, createKafkaLog({
    brokers: [...config.kafkaBrokers],
    clientId: `strata-${config.serverName}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    logger: logger.child({ subsystem: 'kafka' }),
  })).catch(failure(what));
  const log = config.kafkaNamespace === undefined ? kafkaLog : withNamespace(kafkaLog, config.kafkaNamespace);
  try {
    // The client may connect lazily: make it prove the brokers answer before we serve.
    await withStartupDeadline(what, CONNECT_DEADLINE_MS, log.ensureTopic(SERVER_TOPIC, 1)).catch(failure(what));
    const lease = await withStartupDeadline(`cannot take the writer lease of ${where}`, CONNECT_DEADLINE_MS, acquireWriterLease({
      log, where: `Kafka ${where}`, logger: logger.child({ subsystem: 'writer lease' }),
    })).catch(failure(`cannot take the writer lease of ${where}`));
    // No other live process belongs to this namespace's consumer groups now.
    kafkaLog.takeOverGroups();
    return { log: withWriterLease(log, lease), kind: 'kafka', where, lease };
  } catch (error) {
    await log.close().catch(() => undefined);
    throw error;
  }
};

export const openReadModels = async (config: StrataConfig): Promise<OpenedDatabase> => {
  if (config.postgresUrl === undefined) {
    const dir = path.resolve(config.dataDir, 'pglite');
    const db = await createPgliteDatabase({ dir }).catch(failure(`cannot open the embedded database in ${dir}`));
    return { db, kind: 'pglite', where: dir };
  }
  const { createPostgresDatabase, describeUrl } = await import('../postgres/index.ts');
  const where = describeUrl(config.postgresUrl);
  const db = await withStartupDeadline(`cannot reach PostgreSQL at ${where}`, CONNECT_DEADLINE_MS,
    createPostgresDatabase({ url: config.postgresUrl }))
    // The adapter's message already names PostgreSQL and host:port (never the password).
    .catch(failure());
  return { db, kind: 'postgres', where };
};

export const openClickHouse = async (config: StrataConfig): Promise<ClickHouse | null> => {
  if (config.clickhouse === undefined) return null;
  const { url, database } = config.clickhouse;
  const { createClickHouse } = await import('../clickhouse/index.ts');
  return withStartupDeadline('cannot reach ClickHouse', CONNECT_DEADLINE_MS, createClickHouse({ url, database }))
    // The adapter's message names ClickHouse, host:port and the database.
    .catch(failure());
};

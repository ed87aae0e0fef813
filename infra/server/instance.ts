/**
 * Facts about this server's data that must hold across restarts. The server name is baked into
 * every user id, room alias and signature, so data written under one name must never be served
 * under another: the first start records it, later starts compare.
 */
import type { RoomLog, SqlDatabase } from '../../domain/index.ts';
import { SERVER_TOPIC } from './backends.ts';
import { StartupError } from './startupError.ts';
import type { WriterLease } from './writerLease.ts';

export const pinServerName = async (db: SqlDatabase, serverName: string, where: string): Promise<void> => {
  await db.query('CREATE TABLE IF NOT EXISTS server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  await db.query("INSERT INTO server_meta (key, value) VALUES ('server_name', $1) ON CONFLICT (key) DO NOTHING", [serverName]);
  const { rows } = await db.query<{ value: string }>("SELECT value FROM server_meta WHERE key = 'server_name'");
  const stored = rows[0]?.value;
  if (stored !== serverName) {
    throw new StartupError(
      `server_name is "${serverName}" but the data in ${where} belongs to "${stored}"; a server name cannot change`,
    );
  }
};

/**
 * Appends a `server.started` record to the server topic: an audit trail of restarts, and proof at
 * start-up that the log accepts writes.
 */
export const recordStart = async (log: RoomLog, serverName: string, startedAt: number): Promise<void> => {
  await log.ensureTopic(SERVER_TOPIC, 1);
  await log.append(SERVER_TOPIC, [{
    key: serverName,
    value: { type: 'server.started', v: 1, server_name: serverName, pid: process.pid, started_at: startedAt },
    headers: { type: 'server.started' },
  }]);
};

/**
 * Health probe for the log: a cheap metadata read that needs the log to answer, and, on Kafka, the
 * writer lease (a process that lost it refuses writes, so it must leave the rotation).
 */
export const probeLog = async (log: RoomLog, lease?: Pick<WriterLease, 'problem'>): Promise<void> => {
  const problem = lease?.problem();
  if (problem !== undefined) throw new Error(problem);
  await log.endOffset(SERVER_TOPIC, 0);
};

/** Health probe for the read-model database. */
export const probeDatabase = async (db: SqlDatabase): Promise<void> => {
  await db.query('SELECT 1');
};

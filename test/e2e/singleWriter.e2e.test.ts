/**
 * One writer per log namespace, enforced (docs/ARCHITECTURE.md, "One writer per namespace"): a
 * second server process against the same Kafka namespace or the same data directory is refused at
 * start-up while the first keeps serving, and a restart after `kill -9` is not blocked by its own
 * crash: in Kafka mode it serves again without waiting out the dead process's consumer-group sessions (30 s), with every acknowledged message kept.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, type UserClient } from '../harness/client.ts';
import { createRunDatabase, deleteKafkaNamespace, type RunDatabase } from '../harness/services.ts';
import { testServices } from '../setup/env.ts';
import { runUntilExit, startServer, type ExitResult, type RunningServer } from './serverProcess.ts';

const running: RunningServer[] = [];
const start = async (env: Record<string, string>): Promise<RunningServer> => {
  const server = await startServer(env);
  running.push(server);
  return server;
};
// A clean stop leaves the consumer groups empty, so the namespace's groups can be deleted.
afterEach(async () => {
  for (const server of running.splice(0)) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGTERM');
});

const dataDirs: string[] = [];
const newDataDir = async (): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-e2e-writer-'));
  dataDirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const refusalLine = (result: ExitResult): string => {
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
};

/** run.sh execs Node, so the child's pid is the server's. */
const pidOf = (server: RunningServer): number => {
  if (server.child.pid === undefined) throw new Error('the server process has no pid');
  return server.child.pid;
};

const lockFile = (dataDir: string): Promise<string> => readFile(path.join(dataDir, 'strata.lock'), 'utf8');

/** A user in a room, ready to send. */
const userInRoom = async (url: string): Promise<{ user: UserClient; roomId: string }> => {
  const client = new MatrixClient(url);
  const user = client.as(await client.register(`writer${randomBytes(3).toString('hex')}`));
  return { user, roomId: await user.createRoom({ preset: 'private_chat' }) };
};

/** Sends one message and waits for /sync to show it: the write path and the read path both work. */
const roundTrip = async (user: UserClient, roomId: string, text: string): Promise<void> => {
  const initial = await user.sync({ timeout: 0 });
  const eventId = await user.send(roomId, text);
  await user.syncUntil((response) => (response.rooms?.join?.[roomId]?.timeline?.events ?? [])
    .some((event: { event_id: string }) => event.event_id === eventId), { since: initial.next_batch as string, timeoutMs: 10_000 });
};

const roomBodies = async (user: UserClient, roomId: string): Promise<string[]> => {
  const page = await user.get(`/rooms/${encodeURIComponent(roomId)}/messages`, { dir: 'f', limit: 1000 });
  return (page.chunk as { type: string; content: { body?: string } }[])
    .filter((event) => event.type === 'm.room.message').map((event) => event.content.body ?? '');
};

describe('one writer per Kafka namespace (Kafka and PostgreSQL)', () => {
  const namespace = `e2e-writer-${randomBytes(4).toString('hex')}`;
  let database: RunDatabase;
  beforeAll(async () => {
    database = await createRunDatabase(testServices.postgresUrl, `strata_e2e_writer_${randomBytes(4).toString('hex')}`);
  });
  afterAll(async () => {
    await database?.drop();
    await deleteKafkaNamespace(testServices.kafkaBrokers, namespace);
  });

  const kafkaEnv = (dataDir: string) => ({
    STRATA_DATA_DIR: dataDir,
    STRATA_LISTEN: '127.0.0.1:0',
    STRATA_REGISTRATION: 'open',
    STRATA_KAFKA_BROKERS: testServices.kafkaBrokers.join(','),
    STRATA_KAFKA_NAMESPACE: namespace,
    STRATA_POSTGRES_URL: database.url,
  });

  it('refuses a second process at start-up with one line, while the first keeps serving', async () => {
    const first = await start(kafkaEnv(await newDataDir()));
    const { user, roomId } = await userInRoom(first.url);
    await roundTrip(user, roomId, 'before the second process');

    const second = await runUntilExit(kafkaEnv(await newDataDir()));
    expect(refusalLine(second)).toMatch(new RegExp(
      `^strata: another Strata process \\(pid ${pidOf(first)} on .+\\) holds the writer lease of Kafka .+ namespace ${namespace}, `
        + 'renewed [\\d.]+ s ago; only one process may write a log namespace',
    ));

    await roundTrip(user, roomId, 'after the second process was refused');
    const health = await fetch(`${first.url}/health`);
    expect(health.status).toBe(200);
    expect((await first.stop('SIGTERM')).code).toBe(0);
  });

  it('serves after a restart after kill -9 without waiting out the dead process\'s group sessions, with every acknowledged message kept', async () => {
    const dataDir = await newDataDir();
    const first = await start(kafkaEnv(dataDir));
    const { user, roomId } = await userInRoom(first.url);
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) {
      await user.send(roomId, `message ${i}`);
      acknowledged.push(`message ${i}`);
    }
    // Sends still in flight when the process dies: only the acknowledged ones must survive.
    const inFlight = Array.from({ length: 5 }, (_, i) => user.send(roomId, `in flight ${i}`).catch(() => undefined));
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    await Promise.all(inFlight);

    const restartedAt = Date.now();
    const again = await start(kafkaEnv(dataDir));
    const restarted = new MatrixClient(again.url).as(user.session);
    await roundTrip(restarted, roomId, 'after the restart');
    // The dead process's consumer-group members would hold every rebalance for their 30 s session
    // timeout; the restart evicts them (groupEviction.ts). A bound well inside that, not a speed
    // figure: starting a process on a loaded CI machine takes seconds of its own.
    const servedAfterMs = Date.now() - restartedAt;
    expect(servedAfterMs).toBeLessThan(20_000);

    const bodies = await roomBodies(restarted, roomId);
    expect(bodies.filter((body) => body.startsWith('message '))).toEqual(acknowledged);
    expect(bodies).toContain('after the restart');
    expect(again.logs.some((line) => String(line.msg).startsWith('taking over the writer lease'))).toBe(true);
    expect((await again.stop('SIGTERM')).code).toBe(0);
  });
});

describe('one process per data directory (embedded log and PGlite)', () => {
  const embeddedEnv = (dataDir: string) => ({ STRATA_DATA_DIR: dataDir, STRATA_LISTEN: '127.0.0.1:0', STRATA_REGISTRATION: 'open' });

  it('refuses a second process on the same data directory, while the first keeps serving', async () => {
    const dataDir = await newDataDir();
    const first = await start(embeddedEnv(dataDir));
    const { user, roomId } = await userInRoom(first.url);
    await roundTrip(user, roomId, 'before the second process');

    const lock = JSON.parse(await lockFile(dataDir)) as { host: string; since: string };
    const second = await runUntilExit(embeddedEnv(dataDir));
    expect(refusalLine(second)).toBe(
      `strata: the data directory ${dataDir} is in use by another Strata process (pid ${pidOf(first)} on ${lock.host}, `
        + `since ${lock.since}); only one process may use a data directory — if that process is gone, delete ${path.join(dataDir, 'strata.lock')}`,
    );

    await roundTrip(user, roomId, 'after the second process was refused');
    expect(await roomBodies(user, roomId)).toEqual(['before the second process', 'after the second process was refused']);
  });

  it('takes over the lock a killed process left, and releases it on a clean stop', async () => {
    const dataDir = await newDataDir();
    const first = await start(embeddedEnv(dataDir));
    const { user, roomId } = await userInRoom(first.url);
    await user.send(roomId, 'acknowledged before kill -9');
    await first.stop('SIGKILL');

    const again = await start(embeddedEnv(dataDir));
    const restarted = new MatrixClient(again.url).as(user.session);
    await roundTrip(restarted, roomId, 'after the restart');
    expect(await roomBodies(restarted, roomId)).toEqual(['acknowledged before kill -9', 'after the restart']);
    expect((await again.stop('SIGTERM')).code).toBe(0);
    await expect(lockFile(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/**
 * The federation sender (server-server-api.md § Transactions; Synapse's federation sender): a
 * consumer of the room log, with its own consumer group and positions, that delivers the events
 * this server created to the other servers in their rooms, and the FederationOutbox through which
 * EDUs leave. Each destination has its own queue (destination.ts), so a slow or dead one delays
 * neither the others nor the consumer, which only decides whom each event goes to and hands it on.
 *
 * Durability: before a batch's position is stored, the latest event per (destination, room) it
 * touched is stored beside it (store.ts); rows go when a destination acknowledged that event or a
 * later one. What was queued in memory at a stop, or failed, is therefore sent again after a
 * restart or a backoff as catch-up. Delivery is at least once; receivers drop events they have.
 *
 * Only `pdu.accepted` records are sent; every other record type (outliers, imported state, and
 * types yet to come) is skipped, so this consumer checks no log contract of its own — one that may
 * change a room's state only makes its joined servers be read again (RoomServersCache).
 */
import {
  DEFAULT_BACKOFF, DEFAULT_QUEUE_BOUNDS, JoinedServers, RoomServersCache, catchUpMarks, destinationsOf, isCreatedBy, transactionIds,
  type BackoffSettings, type CatchUpMark, type OutgoingQueueBounds, type PlannedSend,
} from '../../../domain/app/federation/sender/index.ts';
import {
  type FederationOutbox, type LogEntry, type Pdu, type ProjectionWaiter, type RoomLog, type RoomReadModel, type SqlDatabase,
} from '../../../domain/index.ts';
import {
  consumeAsSender, PROJECTION_WAIT_MS, roomsProjectionApplied, type ProjectionMetrics, type RunningConsumer, type Supervisor,
} from '../../../projections/runtime/index.ts';
import type { Registry } from 'prom-client';
import type { FederationClient } from '../client/index.ts';
import { Destination, type DestinationContext, type SenderLogger } from './destination.ts';
import { createSenderMetrics } from './metrics.ts';
import { createSenderStore, FEDERATION_SENDER_NAME } from './store.ts';
import { sendTransactionThrough, type SendTransaction } from './transport.ts';

export interface StartFederationSenderOptions {
  readonly serverName: string;
  readonly topic: string;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  /** The rooms read model: members after an event, and catch-up events. */
  readonly rooms: Pick<RoomReadModel, 'members' | 'event'>;
  /** The rooms projection: members are read once it has applied the event. */
  readonly roomsProjection: ProjectionWaiter;
  /** The signed outbound client (infra/federation/client); `send` replaces it in tests of the queues. */
  readonly client: Pick<FederationClient, 'request'>;
  readonly send?: SendTransaction;
  readonly logger: SenderLogger & { error?(fields: Record<string, unknown>, message: string): void };
  readonly supervisor?: Supervisor;
  /** Lag per partition (`strata_projection_lag{projection="federation_sender"}`). */
  readonly metrics?: ProjectionMetrics;
  /** The process's metrics registry (infra/observability); a private one when absent. */
  readonly registry?: Registry;
  readonly backoff?: BackoffSettings;
  /** How long a transaction may take (default 60 s, the client's). */
  readonly transactionTimeoutMs?: number;
  readonly queueBounds?: OutgoingQueueBounds;
  /** How long stop() waits for transactions in flight (default 5 s; what they carry stays queued in the database). */
  readonly stopGraceMs?: number;
  /** Send nothing until `open()` (the composition opens it once the listeners are bound). */
  readonly held?: boolean;
}

export interface FederationSender extends FederationOutbox {
  readonly name: string;
  /** Clears a destination's backoff and sends what waits for it now (it contacted us, so it is up). */
  wake(destination: string): void;
  /** With `held`: nothing is sent until this is called, once the listeners that answer remotes are bound. */
  open(): void;
  stop(): Promise<void>;
  /** Settles after stop(); rejects if the consumer stopped on a poison record. */
  readonly done: Promise<void>;
}

/** Rooms whose joined servers are kept in memory. */
const ROOMS_KEPT = 10_000;

export const startFederationSender = async (options: StartFederationSenderOptions): Promise<FederationSender> => {
  const { serverName, topic, log, logger, rooms, roomsProjection } = options;
  const store = await createSenderStore(options.db);
  const metrics = createSenderMetrics(options.registry);
  const send = options.send ?? sendTransactionThrough(options.client,
    options.transactionTimeoutMs === undefined ? {} : { timeoutMs: options.transactionTimeoutMs });
  let stopping = false;
  let open: () => void = () => undefined;
  const ready = options.held === true ? new Promise<void>((resolve) => { open = resolve; }) : Promise.resolve();

  /** Waits until the rooms projection has applied `partition`/`offset`; false when stopping meanwhile. */
  const roomsApplied = (partition: number, offset: number): Promise<boolean> =>
    roomsProjectionApplied(roomsProjection, partition, offset, { name: 'federation sender', logger, stopping: () => stopping });

  const destinations = new Map<string, Destination>();
  const context: DestinationContext = {
    origin: serverName, store, send, backoff: options.backoff ?? DEFAULT_BACKOFF, bounds: options.queueBounds ?? DEFAULT_QUEUE_BOUNDS,
    metrics, logger, now: () => Date.now(), nextTxnId: transactionIds(Date.now()),
    loadEvent: async (mark: CatchUpMark): Promise<Pdu | undefined> => {
      const stored = await rooms.event(mark.eventId);
      if (stored !== undefined) return stored.pdu;
      if (!(await roomsProjection.waitFor(mark.partition, mark.offset, PROJECTION_WAIT_MS))) {
        throw new Error(`the rooms projection has not applied ${mark.eventId} yet`);
      }
      return (await rooms.event(mark.eventId))?.pdu;
    },
    onBackoffChanged: () => metrics.backoff([...destinations.values()].filter((d) => d.inBackoff).length),
    ready,
    onIdle: (destination) => {
      if (destinations.get(destination.name) === destination) destinations.delete(destination.name);
    },
  };
  const destinationFor = (name: string): Destination => {
    let destination = destinations.get(name);
    if (destination === undefined) {
      destination = new Destination(name, context);
      destinations.set(name, destination);
    }
    return destination;
  };

  // What an earlier run left: catch-up rows and durable EDUs are sent first.
  const pending = await store.pendingDestinations();
  for (const name of pending.catchUp) destinationFor(name).catchUpPending();
  for (const name of pending.edus) destinationFor(name).durableQueued();
  if (pending.catchUp.length + pending.edus.length > 0) {
    logger.info({ catch_up: pending.catchUp.length, durable_edus: pending.edus.length }, 'federation sender resumes destinations with undelivered data');
  }

  /** Joined servers per room, followed record by record; dropped with the partition. */
  const roomServers = new RoomServersCache(ROOMS_KEPT);

  /** Whom an entry's event goes to, when it is ours; keeps the room's joined servers current. */
  const plan = async (entry: LogEntry): Promise<PlannedSend | undefined> => {
    const record = roomServers.follow(entry.value);
    if (record === undefined || !isCreatedBy(record.pdu, serverName)) return undefined;
    let servers = roomServers.get(record.roomId);
    if (servers === undefined) {
      if (!(await roomsApplied(entry.partition, entry.offset))) return undefined;
      servers = JoinedServers.of(await rooms.members(record.roomId, entry.offset));
      roomServers.set(record.roomId, entry.partition, servers);
    }
    const targets = destinationsOf(record.pdu, servers.servers(), serverName);
    if (targets.length === 0) return undefined;
    return {
      pdu: { roomId: record.roomId, eventId: record.eventId, partition: entry.partition, offset: entry.offset, pdu: record.pdu },
      destinations: targets,
    };
  };

  const consumer: RunningConsumer = await consumeAsSender<PlannedSend[]>({
    name: FEDERATION_SENDER_NAME,
    topic,
    log,
    // A transaction may leave a few tens of milliseconds later: the log then serves this group
    // fetches at a steady pace instead of one per append.
    latency: 'soon',
    supervisor: options.supervisor,
    metrics: options.metrics,
    logger,
    loadPositions: (partitions) => store.loadPositions(log, topic, partitions),
    onRevoked: (partitions) => roomServers.forgetPartitions(partitions),
    handle: async (_partition, entries) => {
      const sends: PlannedSend[] = [];
      for (const entry of entries) {
        const planned = await plan(entry);
        // Stopping: the batch is planned again after the restart, from the stored position.
        if (stopping) return undefined;
        if (planned !== undefined) sends.push(planned);
      }
      return sends;
    },
    mustStore: (sends) => sends.length > 0,
    checkpoint: (partition, next, sends) => store.checkpoint(topic, partition, next, catchUpMarks(sends)),
    // Queued only once the catch-up rows stand for them, so a failure or a stop loses nothing.
    handOn: (sends) => {
      for (const { pdu, destinations: targets } of sends) for (const name of targets) destinationFor(name).addPdu(pdu);
    },
  });

  const stopGraceMs = options.stopGraceMs ?? 5_000;
  let stopped = false;
  return {
    open: () => open(),
    name: consumer.name,
    done: consumer.done,
    async sendEdu(targets, edu, sendOptions) {
      const names = [...new Set(targets)].filter((name) => name !== serverName);
      if (names.length === 0) return;
      if (sendOptions?.durable === true) {
        if (stopped) throw new Error('the federation sender has stopped; a durable EDU cannot be queued');
        await store.queueDurableEdu(names, edu, Date.now());
        for (const name of names) destinationFor(name).durableQueued();
        return;
      }
      if (stopped) return;
      for (const name of names) destinationFor(name).addEdu(edu);
    },
    wake(destination) {
      destinations.get(destination)?.wake();
    },
    async stop() {
      stopping = true;
      await consumer.stop();
      stopped = true;
      const inFlight = Promise.all([...destinations.values()].map((destination) => destination.stop()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise<void>((resolve) => { timer = setTimeout(resolve, stopGraceMs); })]);
      clearTimeout(timer);
    },
  };
};

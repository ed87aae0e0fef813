/**
 * The appservice sender (application-service-api.md § Pushing events; Synapse's appservice
 * scheduler): a consumer of the room log, with its own consumer group and positions, that queues
 * for each bridge the events it is interested in, and one worker per bridge (bridge.ts) that sends
 * them as transactions. The consumer only decides and queues: a bridge that is down or slow delays
 * neither the log, nor the other bridges, nor anything else.
 *
 * Durability: a batch's queue rows are written in the same database transaction as its log
 * position (store.ts), so nothing is lost or queued twice across restarts; rows go once the bridge
 * acknowledged the transaction that carried them. Order: log order within a room, queue order
 * overall.
 *
 * Which records: `pdu.accepted` (local or remote) and `membership.outOfBand` (an invite to a room
 * we are not in); every other record type is skipped, except that one which may change a room's
 * state makes its facts be read again (RoomFactsCache).
 */
import {
  bridgesInterestedIn, bridgesInterestedInOutOfBand, DEFAULT_APPSERVICE_BACKOFF, eventFactsOf, KnownRoom, localJoinedMembers, NO_EXTRAS,
  receivingBridges, RoomFactsCache, type DeviceKeyCounts, type TransactionExtras,
} from '../../../domain/app/appservices/sender/index.ts';
import type { BackoffSettings } from '../../../domain/app/federation/sender/index.ts';
import { strippedStateOf } from '../../../domain/app/federation/rooms/index.ts';
import { clientEvent } from '../../../domain/app/rooms/index.ts';
import {
  isJsonObject, type AppserviceClient, type AppserviceRegistration, type JsonObject, type LogEntry, type ProjectionWaiter, type RoomDirectory,
  type RoomLog, type RoomReadModel, type SqlDatabase, type StoredEvent,
} from '../../../domain/index.ts';
import {
  consumeAsSender, PROJECTION_WAIT_MS, roomsProjectionApplied, type ProjectionMetrics, type RunningConsumer, type Supervisor,
} from '../../../projections/runtime/index.ts';
import type { Registry } from 'prom-client';
import { Bridge, type BridgeLogger } from './bridge.ts';
import { createAppserviceSenderMetrics } from './metrics.ts';
import { APPSERVICE_SENDER_NAME, createAppserviceSenderStore, type QueuedEvent, type StreamPositions } from './store.ts';

/** Ephemeral data, to-device messages and MSC3202 device data for bridges that opted in (ephemeral.ts); none without it. */
export interface AppserviceExtrasSource {
  collect(registration: AppserviceRegistration, streams: StreamPositions): Promise<{ extras: TransactionExtras; streams: StreamPositions }>;
  /** MSC3202: the key counts of the devices of the bridge's users a transaction concerns, as they are now. */
  deviceKeys(registration: AppserviceRegistration, events: readonly JsonObject[], extras: TransactionExtras): Promise<DeviceKeyCounts>;
  /** Calls `wake` with a bridge's id whenever something new may be there for it; returns the unsubscribe. */
  subscribe(wake: (appserviceId: string) => void): () => void;
}

export interface StartAppserviceSenderOptions {
  readonly serverName: string;
  readonly topic: string;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  readonly registrations: readonly AppserviceRegistration[];
  /** The HTTP client (infra/appservices/client.ts). */
  readonly client: Pick<AppserviceClient, 'sendTransaction'>;
  /** The rooms read model: members after an event, the events sent, invites' stripped state. */
  readonly rooms: Pick<RoomReadModel, 'members' | 'event' | 'strippedState' | 'stateAt'>;
  /** The room directory: a room's aliases. */
  readonly directory: Pick<RoomDirectory, 'aliasesOf'>;
  /** The rooms projection: members and events are read once it has applied them. */
  readonly roomsProjection: ProjectionWaiter;
  readonly extras?: AppserviceExtrasSource;
  readonly logger: BridgeLogger & { error?(fields: Record<string, unknown>, message: string): void };
  readonly supervisor?: Supervisor;
  /** Lag per partition (`strata_projection_lag{projection="appservice_sender"}`). */
  readonly metrics?: ProjectionMetrics;
  /** The process's metrics registry (infra/observability); a private one when absent. */
  readonly registry?: Registry;
  readonly backoff?: BackoffSettings;
  /** How long a transaction may take before it counts as failed (default 60 s). */
  readonly transactionTimeoutMs?: number;
  /** How long stop() waits for transactions in flight (default 5 s; what they carry stays queued). */
  readonly stopGraceMs?: number;
  /** Send nothing until `open()` (the composition opens it once the listeners are bound: bridges call back). */
  readonly held?: boolean;
}

export interface AppserviceSender {
  /** The consumer's name (its /health entry), or null when no bridge takes transactions and nothing runs. */
  readonly name: string | null;
  /** With `held`: nothing is sent until this is called. */
  open(): void;
  /** The bridge answered (a ping): its backoff ends and what waits for it is sent now. */
  wake(appserviceId: string): void;
  stop(): Promise<void>;
  /** Settles after stop(); rejects if the consumer stopped on a poison record. */
  readonly done: Promise<void>;
}

/** Rooms whose facts are kept in memory. */
const ROOMS_KEPT = 10_000;
/** How often each bridge's queue length and lag are read for /metrics. */
const BACKLOG_REFRESH_MS = 5_000;

/**
 * The event as a bridge gets it: the client format (as /sync's timeline, no transaction id), and an
 * invite's or knock's stripped state as Synapse includes it — what the inviting server sent for a
 * room we are not in, else the room's state at the event (Synapse's types and the sender's membership).
 */
const bridgeEvent = async (rooms: StartAppserviceSenderOptions['rooms'], event: StoredEvent, now: number): Promise<JsonObject> => {
  const formatted = clientEvent(event, { userId: '', deviceId: null }, now);
  const membership = isJsonObject(event.pdu.content) ? event.pdu.content.membership : undefined;
  if (event.type === 'm.room.member' && (membership === 'invite' || membership === 'knock') && isJsonObject(formatted.unsigned)) {
    const stripped = await rooms.strippedState(event.eventId)
      ?? strippedStateOf((await rooms.stateAt(event.roomId, event.offset)).map((state) => state.pdu), event.sender);
    formatted.unsigned[membership === 'invite' ? 'invite_room_state' : 'knock_room_state'] = [...stripped];
  }
  return formatted;
};

export const startAppserviceSender = async (options: StartAppserviceSenderOptions): Promise<AppserviceSender> => {
  const { serverName, topic, log, logger, rooms, roomsProjection } = options;
  const registrations = receivingBridges(options.registrations);
  if (registrations.length === 0) {
    return { name: null, open: () => undefined, wake: () => undefined, stop: async () => undefined, done: Promise.resolve() };
  }
  const store = await createAppserviceSenderStore(options.db);
  const metrics = createAppserviceSenderMetrics(options.registry);
  let stopping = false;
  let open: () => void = () => undefined;
  const ready = options.held === true ? new Promise<void>((resolve) => { open = resolve; }) : Promise.resolve();

  /** Waits until the rooms projection has applied `partition`/`offset`; false when stopping meanwhile. */
  const roomsApplied = (partition: number, offset: number): Promise<boolean> =>
    roomsProjectionApplied(roomsProjection, partition, offset, { name: 'appservice sender', logger, stopping: () => stopping });

  const extrasSource = options.extras;
  const bridges = new Map<string, Bridge>();
  for (const registration of registrations) {
    bridges.set(registration.id, new Bridge(registration, {
      store, client: options.client, metrics, logger, ready, backoff: options.backoff ?? DEFAULT_APPSERVICE_BACKOFF,
      transactionTimeoutMs: options.transactionTimeoutMs ?? 60_000, now: () => Date.now(),
      extras: (bridge, streams) => (extrasSource === undefined || !(bridge.receiveEphemeral || bridge.msc3202)
        ? Promise.resolve({ extras: NO_EXTRAS, streams: {} })
        : extrasSource.collect(bridge, streams)),
      deviceKeys: (bridge, events, extras) => (extrasSource === undefined || !bridge.msc3202
        ? Promise.resolve(undefined)
        : extrasSource.deviceKeys(bridge, events, extras)),
      loadEvents: async (_bridge, queued: readonly QueuedEvent[]) => {
        const now = Date.now();
        const events: JsonObject[] = [];
        for (const item of queued) {
          let event = await rooms.event(item.eventId);
          if (event === undefined) {
            if (!(await roomsProjection.waitFor(item.partition, item.offset, PROJECTION_WAIT_MS))) {
              throw new Error(`the rooms projection has not applied ${item.eventId} yet`);
            }
            event = await rooms.event(item.eventId);
          }
          // Purged from the read model since (retention): there is nothing left to send.
          if (event === undefined) logger.warn({ appservice: item.appserviceId, event_id: item.eventId }, 'a queued event is gone; not sent');
          else events.push(await bridgeEvent(rooms, event, now));
        }
        return events;
      },
    }));
  }
  const unsubscribe = extrasSource?.subscribe((id) => bridges.get(id)?.wake()) ?? (() => undefined);

  // What an earlier run left (queued events, a transaction in flight) is sent first; ephemeral data
  // since the stored stream positions too.
  for (const id of await store.pendingBridges()) {
    if (!bridges.has(id)) logger.warn({ appservice: id }, 'events are queued for an application service no longer registered; kept');
  }
  for (const bridge of bridges.values()) bridge.wake();
  const backlogTimer = setInterval(() => {
    for (const bridge of bridges.values()) void bridge.refreshBacklog().catch(() => undefined);
  }, BACKLOG_REFRESH_MS);
  backlogTimer.unref();

  const facts = new RoomFactsCache(ROOMS_KEPT, serverName);

  /** The room's facts after `entry`, read from the read models when not followed yet. */
  const roomAt = async (roomId: string, entry: LogEntry): Promise<KnownRoom | undefined> => {
    const known = facts.get(roomId);
    if (known !== undefined) {
      if (known.aliasesStale(Date.now())) known.setAliases(await options.directory.aliasesOf(roomId), Date.now());
      return known;
    }
    if (!(await roomsApplied(entry.partition, entry.offset))) return undefined;
    const members = localJoinedMembers(await rooms.members(roomId, entry.offset), serverName);
    const room = new KnownRoom(roomId, entry.partition, members, await options.directory.aliasesOf(roomId), Date.now());
    facts.set(room);
    return room;
  };

  /** The queue rows an entry makes: one per interested bridge. */
  const plan = async (entry: LogEntry): Promise<QueuedEvent[]> => {
    const value = entry.value;
    const record = facts.follow(value);
    const queued = (targets: readonly AppserviceRegistration[], roomId: string, eventId: string): QueuedEvent[] =>
      targets.map((bridge) => ({ appserviceId: bridge.id, roomId, eventId, partition: entry.partition, offset: entry.offset }));
    if (record !== undefined) {
      const room = await roomAt(record.roomId, entry);
      if (room === undefined) return [];
      return queued(bridgesInterestedIn(registrations, eventFactsOf(record.pdu), room), record.roomId, record.eventId);
    }
    if (isJsonObject(value) && value.type === 'membership.outOfBand' && typeof value.roomId === 'string'
      && typeof value.eventId === 'string' && isJsonObject(value.pdu)) {
      return queued(bridgesInterestedInOutOfBand(registrations, eventFactsOf(value.pdu), value.roomId), value.roomId, value.eventId);
    }
    return [];
  };

  const consumer: RunningConsumer = await consumeAsSender<QueuedEvent[]>({
    name: APPSERVICE_SENDER_NAME,
    topic,
    log,
    supervisor: options.supervisor,
    metrics: options.metrics,
    logger,
    loadPositions: (partitions) => store.loadPositions(log, topic, partitions),
    onRevoked: (partitions) => facts.forgetPartitions(partitions),
    handle: async (_partition, entries) => {
      const rows: QueuedEvent[] = [];
      for (const entry of entries) {
        const planned = await plan(entry);
        // Stopping: the batch is planned again after the restart, from the stored position.
        if (stopping) return undefined;
        rows.push(...planned);
      }
      return rows;
    },
    mustStore: (rows) => rows.length > 0,
    checkpoint: (partition, next, rows) => store.checkpoint(topic, partition, next, rows, Date.now()),
    handOn: (rows) => {
      for (const id of new Set(rows.map((row) => row.appserviceId))) bridges.get(id)?.wake();
    },
  });

  const stopGraceMs = options.stopGraceMs ?? 5_000;
  return {
    open: () => open(),
    wake: (appserviceId) => bridges.get(appserviceId)?.retryNow(),
    name: consumer.name,
    done: consumer.done,
    async stop() {
      stopping = true;
      unsubscribe();
      clearInterval(backlogTimer);
      await consumer.stop();
      const inFlight = Promise.all([...bridges.values()].map((bridge) => bridge.stop()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise<void>((resolve) => { timer = setTimeout(resolve, stopGraceMs); })]);
      clearTimeout(timer);
    },
  };
};

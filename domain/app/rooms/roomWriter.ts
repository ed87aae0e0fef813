/**
 * The single writer of each room: commands for one room run one at a time (a promise queue per
 * room id) against the room's RoomState held in memory, so `decide` always sees the latest state
 * and the DAG stays linear for local events. State is loaded on first use from the rooms
 * projection's snapshot plus the room's records after it in the log, and kept in an LRU.
 *
 * A command leaves the room's queue once its records are decided and folded into the state: the
 * room's next command is decided on top of them while they are still being appended. Appends of a
 * room go out in order, carrying every command decided meanwhile (group commit per room), one or
 * two at a time (`appendsInFlight`: the next one prepared while the one before is written, and
 * written only once that one was), so a room's write rate is bound neither by the append's round
 * trips nor by the projection's latency. A command answers once its records are appended and the
 * rooms projection applied them (read-your-writes). If an append fails, it and every command
 * decided after it fail, and the room is reloaded from the log.
 *
 * Across processes, a command must reach the process that owns the room's partition: that routing
 * (a commands topic co-partitioned with ROOM_EVENTS_TOPIC, or forwarding to the owner) belongs in
 * front of `run` below. For now one process is the whole deployment.
 */
import { createGroupCommit, createKeyedQueue, type GroupCommit } from '../../concurrency/index.ts';
import { MatrixError } from '../../errors.ts';
import { roomEventOfAcceptedPdu, stateKeyOf, type Pdu, type RoomEvent, type StateMap } from '../../events/index.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';
import type { LogValue, RoomLog } from '../../ports/log.ts';
import type { ProjectionWaiter, RoomDirectory, RoomReadModel, ServerKeys } from '../../ports/rooms.ts';
import {
  ROOM_EVENTS_TOPIC, decide, evolve, initialState, isCreated, isRoomRecord,
  type Decision, type EventRecord, type LocalEventRequest, type MembershipOutOfBand, type LocalOrigin, type RoomLookups, type RoomRecord, type RoomState,
} from '../../room/index.ts';
import type { JsonObject } from '../../json.ts';
import { inviteeOf } from './invitePermission.ts';
import { remoteWriting } from './remoteWriting.ts';
import type { RemoteLookupSources } from './remoteLookups.ts';
import type { UserPreferences } from './preferences.ts';
import { stageTimer, type SendStage } from './sendStages.ts';
import { roomStateOfSnapshot } from './roomState.ts';
import {
  PRELOADED_TRANSACTIONS, RoomTransactions, deviceKeyOf, rememberTransaction, type DeviceTransactions,
} from './transactionMemory.ts';

export interface RoomWriterOptions {
  readonly log: RoomLog;
  readonly readModel: Pick<RoomReadModel, 'snapshot' | 'roomInfo' | 'eventIdForTransaction' | 'transactionsOfDevice' | 'event' | 'roomsWithMembership'>;
  /**
   * Where this server's aliases point, preloaded for the decider's m.room.canonical_alias check.
   * Without it no local alias can be named in a canonical alias (the decider refuses).
   */
  readonly directory?: Pick<RoomDirectory, 'resolveAlias'>;
  /** Users' invite permission (m.invite_permission_config), preloaded for the decider's invite check. */
  readonly invitePermission?: Pick<UserPreferences, 'blocksInvites'>;
  /** Which local users are guests, preloaded for the decider's judgement of their memberships (§ Guest access). */
  readonly guests?: { isGuest(userId: string): Promise<boolean> };
  readonly projection: ProjectionWaiter;
  readonly keys: ServerKeys;
  readonly now: () => number;
  /** Rooms kept in memory (least recently used are dropped). Default 10,000. */
  readonly maxRooms?: number;
  /**
   * A room's appends in flight at once (default 1). With 2, the next one is prepared (its content
   * keys stored) while the one before is written: worth it when that preparation has a database
   * session of its own (PostgreSQL's pool). On a single session (PGlite) it would queue ahead of
   * the projection's commit that the earlier sends wait for.
   */
  readonly appendsInFlight?: 1 | 2;
  /** How long a write waits for the projection to apply it (read-your-writes). Default 10 s. */
  readonly projectionTimeoutMs?: number;
  /** Transaction ids read per device when it first sends after its room was loaded (more: looked up per send). */
  readonly transactionsReadPerDevice?: number;
  /** Where remote events' keys, auth events and states come from; without it no remote event is taken in. */
  readonly remote?: RemoteLookupSources;
  /** Told how long each stage of a local send took (a message's life on the server: metrics). */
  readonly onSendStage?: (stage: SendStage, seconds: number) => void;
}

export interface CreateRoomRequest {
  /** Required before v12 (the server picks `!opaque:server`); v12 derives it from the create event. */
  readonly roomId?: string;
  readonly createContent: JsonObject;
  readonly creator: string;
  readonly events: readonly LocalEventRequest[];
  /** This server's aliases the new room claims once created (its canonical alias may name them). */
  readonly claimedAliases?: readonly string[];
  readonly local: LocalOrigin;
}


/** What became of a PDU from another server (server-server-api § Checks performed on receipt of a PDU). */
export type IngestResult =
  | { readonly outcome: 'accepted' | 'softFailed' | 'known' }
  | { readonly outcome: 'rejected' | 'dropped'; readonly reason: string }
  /** Events the decider needs that this server lacks: fetch them and try again. */
  | { readonly outcome: 'missing'; readonly eventIds: readonly string[] }
  | { readonly outcome: 'unknownRoom' };

/** `send_join`'s answer, for a room this server joins through another. */
export interface RemoteJoin {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly state: readonly unknown[];
  readonly authChain: readonly unknown[];
  /** Our join, signed by us (and by the resident server for restricted rooms). */
  readonly join: Pdu;
}

export interface RoomWriter {
  createRoom(request: CreateRoomRequest): Promise<{ roomId: string; eventIds: string[] }>;
  /** Sends one event; with `local.txnId` set, a repeated transaction answers the first event id. */
  send(roomId: string, event: LocalEventRequest, local: LocalOrigin): Promise<{ eventId: string; deduplicated: boolean }>;
  /** The room's current state as the writer holds it (undefined for an unknown room). */
  state(roomId: string): Promise<RoomState | undefined>;
  /**
   * Throws the decider's refusal if `event` may not be sent now; appends nothing. For a use-case
   * that must know before doing other work (e.g. /upgrade, before it creates the new room).
   */
  authorize(roomId: string, event: LocalEventRequest): Promise<void>;
  /**
   * Builds and checks a local event as `send` would, without appending it: for an event another
   * server must sign first (an invite of its user) or that joins through another server.
   */
  prepare(roomId: string, event: LocalEventRequest): Promise<Pdu>;
  /**
   * Judges a PDU received from another server and appends what the decider decided. `stateBefore`:
   * the state before it as another server gave it, for prev events this server never got (the
   * event then joins the DAG on that state; § Checks performed on receipt, missing prev events).
   */
  ingest(roomId: string, pdu: Pdu, origin: string, stateBefore?: StateMap): Promise<IngestResult>;
  /** Checks events another server gave us outside the timeline and keeps those that pass as outliers. */
  storeOutliers(roomId: string, pdus: readonly unknown[]): Promise<{ stored: number; skipped: readonly string[] }>;
  /**
   * Checks history another server gave us from before we joined (as outliers are checked) and puts
   * what passes into the room's timeline before everything held (records.ts `pdu.backfilled`).
   */
  storeBackfilled(roomId: string, pdus: readonly unknown[]): Promise<{ stored: number; skipped: readonly string[] }>;
  /** Joins a room through another server: imports its state, then ingests our join on top. */
  importJoin(join: RemoteJoin): Promise<IngestResult>;
  /**
   * Records a local user's membership in a room this server does not participate in (records.ts
   * `membership.outOfBand`); refused for a room we are in, whose events come through /send.
   */
  recordOutOfBand(membership: Omit<MembershipOutOfBand, 'type' | 'v' | 'receivedAt'>): Promise<void>;
  /** `make_join`/`make_leave`/`make_knock`: the unsigned template for another server's user. */
  membershipTemplate(roomId: string, userId: string, membership: 'join' | 'leave' | 'knock', content?: JsonObject): Promise<{ roomVersion: string; template: Pdu }>;
}

/** Where an appended record landed in the log. */
interface Appended {
  readonly partition: number;
  readonly offset: number;
}

interface Entry {
  /** The state after every decided command, including those whose append is still in flight. */
  state: RoomState & { roomId: string };
  readonly partition: number;
  /** Transaction ids per device: retries are answered without asking the read model. */
  readonly transactions: RoomTransactions<Appended>;
  /** The room's decided records go to the log in decision order, one request at a time (group commit). */
  readonly appends: GroupCommit<readonly RoomRecord[], Appended>;
  /** Set when an append failed: the state above is no longer the log's, nothing more may be decided on it. */
  failed?: unknown;
  /** Where the latest committed records will land: what the read model must hold before it is read for this room. */
  lastCommit?: Promise<Appended>;
}

const TAIL_BATCH = 500;
const CREATE_KEY = stateKeyOf('m.room.create', '');
/** A created room whose id is taken is tried again this many times, a millisecond later each. */
const MAX_CREATE_ATTEMPTS = 10;

const STATUS: Record<string, number> = {
  M_FORBIDDEN: 403, M_INVITE_BLOCKED: 403, M_TOO_LARGE: 413, M_BAD_JSON: 400, M_NOT_FOUND: 404, M_UNSUPPORTED_ROOM_VERSION: 400, M_INVALID_PARAM: 400,
};

/**
 * Refusals become the client-visible error; anything else a local command cannot produce. An
 * `unchanged` decision (a repeated state event) is the caller's to answer before this.
 */
const recordsOf = (decision: Decision): readonly EventRecord[] => {
  switch (decision.outcome) {
    case 'records':
      return decision.records;
    case 'unchanged':
      throw new MatrixError('M_UNKNOWN', 500, `room writer: ${decision.event.eventId} repeated where a new event was needed`);
    case 'refused':
      throw new MatrixError(decision.error.errcode, STATUS[decision.error.errcode] ?? 400, decision.error.reason);
    case 'dropped':
      throw new MatrixError('M_BAD_JSON', 400, decision.reason);
    case 'missing':
      throw new MatrixError('M_UNKNOWN', 500, `room state is missing events ${decision.eventIds.join(', ')}`);
  }
};

/**
 * Lookups over the room's current state events, kept per state-events map: `evolve` shares the map
 * while events change no state, so a room's messages reuse one index instead of rebuilding it.
 */
const lookupsByStateEvents = new WeakMap<RoomState['stateEvents'], RoomLookups>();
const lookupsOf = (state: RoomState): RoomLookups => {
  const known = lookupsByStateEvents.get(state.stateEvents);
  if (known !== undefined) return known;
  const byId = new Map<string, RoomEvent>([...state.stateEvents.values()].map((event) => [event.eventId, event]));
  const lookups: RoomLookups = { getEvent: (id) => byId.get(id), isRejected: () => false, stateAfter: () => undefined, verifyKey: () => undefined };
  lookupsByStateEvents.set(state.stateEvents, lookups);
  return lookups;
};

/** What the writer fetched for one decision: a redaction's target, the rooms of aliases named, a joiner's rooms. */
interface Preloaded {
  readonly events: readonly RoomEvent[];
  readonly aliases: ReadonlyMap<string, string>;
  readonly joinedRooms: ReadonlyMap<string, ReadonlySet<string>>;
  readonly blockingInvites: ReadonlySet<string>;
  readonly guests: ReadonlySet<string>;
}

const NOTHING_PRELOADED: Preloaded = { events: [], aliases: new Map(), joinedRooms: new Map(), blockingInvites: new Set(), guests: new Set() };

/** The lookups with what was preloaded for this one decision. */
const withPreloaded = (lookups: RoomLookups, preloaded: Preloaded): RoomLookups => {
  if (preloaded === NOTHING_PRELOADED) return lookups;
  const byId = new Map(preloaded.events.map((event) => [event.eventId, event]));
  return {
    ...lookups,
    getEvent: (id) => lookups.getEvent(id) ?? byId.get(id),
    aliasRoom: (alias) => preloaded.aliases.get(alias),
    joinedRooms: (userId) => preloaded.joinedRooms.get(userId),
    blocksInvites: (userId) => preloaded.blockingInvites.has(userId),
    isGuest: (userId) => preloaded.guests.has(userId),
  };
};

/** A local user's own join naming an authoriser (restricted rooms, since v8): the decider needs their rooms. */
const restrictedJoinerOf = (event: LocalEventRequest): string | undefined =>
  event.type === 'm.room.member' && event.stateKey === event.sender && event.content.join_authorised_via_users_server !== undefined
    ? event.sender : undefined;

/**
 * The users of an m.room.member event whose being guests matters to the decider: its sender (a
 * guest only joins and leaves) and, for a join, its target (judged by the room's guest access).
 */
const membersOf = (event: LocalEventRequest): string[] => (event.type !== 'm.room.member' ? []
  : event.content.membership === 'join' && event.stateKey !== undefined ? [event.sender, event.stateKey] : [event.sender]);

/** The aliases an m.room.canonical_alias request names (the decider checks their format). */
const aliasesNamedBy = (event: LocalEventRequest): string[] => {
  if (event.type !== 'm.room.canonical_alias') return [];
  const { alias, alt_aliases: alt } = event.content;
  return [alias, ...(Array.isArray(alt) ? alt : [])].filter((entry): entry is string => typeof entry === 'string');
};

/** The event ids a redaction request may name: `redacts` on the request, or in its content since v11. */
const redactionTargetsOf = (event: LocalEventRequest): string[] => {
  if (event.type !== 'm.room.redaction') return [];
  const inContent = event.content.redacts;
  return [...new Set([event.redacts, typeof inContent === 'string' ? inContent : undefined])].filter((id): id is string => id !== undefined);
};

/**
 * A record of the room's log tail, as the log contract (domain/room/records.ts) lets a consumer
 * use it: a record of unknown (type, v) or an acceptance that does not follow the room's last
 * accepted event (a gap) refuses to load the room, loudly, instead of deciding on a wrong state.
 */
const checkedTailRecord = (value: LogValue, state: RoomState, where: string): RoomRecord => {
  if (!isRoomRecord(value)) {
    const { type, v } = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as { type?: unknown; v?: unknown };
    throw new Error(`room log: unknown record (type ${JSON.stringify(type)}, v ${JSON.stringify(v)}) at ${where}; refusing to load the room`);
  }
  if (value.type === 'pdu.accepted' && value.prevAcceptedEventId !== state.lastAcceptedEventId) {
    throw new Error(`room log: gap in room ${value.roomId} at ${where}: ${value.eventId} follows ${value.prevAcceptedEventId ?? 'nothing'} `
      + `but the last accepted event is ${state.lastAcceptedEventId ?? 'none'}; refusing to load the room`);
  }
  return value;
};

export const createRoomWriter = (options: RoomWriterOptions): RoomWriter => {
  const { log, readModel, projection, keys, directory, invitePermission, guests } = options;

  /**
   * Plan and fetch for the decider (domain/room/redactions.ts, localPolicy.ts): a redaction is
   * judged against its target and a canonical alias against the directory, neither of which the
   * room's state in memory holds.
   */
  const preload = async (events: readonly LocalEventRequest[]): Promise<Preloaded> => {
    const targets = [...new Set(events.flatMap(redactionTargetsOf))];
    const aliases = [...new Set(events.flatMap(aliasesNamedBy))];
    const joiners = [...new Set(events.map(restrictedJoinerOf).filter((userId): userId is string => userId !== undefined))];
    const invitees = invitePermission === undefined ? []
      : [...new Set(events.map(inviteeOf).filter((userId): userId is string => userId !== undefined))];
    const members = guests === undefined ? [] : [...new Set(events.flatMap(membersOf))];
    if (targets.length === 0 && aliases.length === 0 && joiners.length === 0 && invitees.length === 0 && members.length === 0) return NOTHING_PRELOADED;
    const found = await Promise.all(targets.map(async (id) => {
      const stored = await readModel.event(id);
      const rules = stored === undefined ? undefined : roomVersionRules(stored.roomVersion);
      return stored === undefined || rules === undefined ? undefined : roomEventOfAcceptedPdu(stored.pdu, rules, stored.eventId);
    }));
    const resolved = directory === undefined ? [] : await Promise.all(aliases.map(async (alias) => [alias, (await directory.resolveAlias(alias))?.roomId] as const));
    const joined = await Promise.all(joiners.map(async (userId) => [userId, new Set(await readModel.roomsWithMembership(userId, ['join']))] as const));
    const blocking = await Promise.all(invitees.map(async (userId) => ((await invitePermission!.blocksInvites(userId)) ? [userId] : [])));
    const guestMembers = await Promise.all(members.map(async (userId) => ((await guests!.isGuest(userId)) ? [userId] : [])));
    return {
      events: found.filter((event): event is RoomEvent => event !== undefined),
      aliases: new Map(resolved.filter((entry): entry is readonly [string, string] => entry[1] !== undefined)),
      joinedRooms: new Map(joined),
      blockingInvites: new Set(blocking.flat()),
      guests: new Set(guestMembers.flat()),
    };
  };
  const maxRooms = options.maxRooms ?? 10_000;
  const timeoutMs = options.projectionTimeoutMs ?? 10_000;
  const transactionsReadPerDevice = options.transactionsReadPerDevice ?? PRELOADED_TRANSACTIONS;
  const rooms = new Map<string, Entry>();
  /** Each room's commands run one at a time, in arrival order. */
  const queues = createKeyedQueue<string>();
  const run = <T>(roomId: string, task: () => Promise<T>): Promise<T> => queues.run(roomId, task);

  const remember = (roomId: string, entry: Entry): void => {
    rooms.delete(roomId);
    rooms.set(roomId, entry);
    for (const [id, candidate] of rooms) {
      if (rooms.size <= maxRooms) break;
      // A room with appends in flight keeps its entry: reloading it would miss them.
      if (!queues.has(id) && !candidate.appends.busy) rooms.delete(id);
    }
  };

  const readTail = async (roomId: string, partition: number, from: number, state: RoomState): Promise<RoomState> => {
    let current = state;
    for (let offset = from; ;) {
      const entries = await log.read(ROOM_EVENTS_TOPIC, partition, offset, TAIL_BATCH);
      for (const entry of entries) {
        if (entry.key !== roomId) continue;
        current = evolve(current, checkedTailRecord(entry.value, current, `${ROOM_EVENTS_TOPIC}/${partition}@${entry.offset}`));
      }
      if (entries.length < TAIL_BATCH) return current;
      offset = entries[entries.length - 1]!.offset + 1;
    }
  };

  const load = async (roomId: string): Promise<Entry | undefined> => {
    const cached = rooms.get(roomId);
    if (cached !== undefined) {
      remember(roomId, cached);
      return cached;
    }
    const partition = await log.partitionFor(ROOM_EVENTS_TOPIC, roomId);
    const end = await log.endOffset(ROOM_EVENTS_TOPIC, partition);
    // Let the projection catch up first so the tail to replay is short.
    const caughtUp = end === 0 || (await projection.waitFor(partition, end - 1, timeoutMs));
    const snapshot = await readModel.snapshot(roomId);
    const base = snapshot === undefined ? initialState : roomStateOfSnapshot(snapshot);
    // Without a snapshot the room is unknown up to the projection's position: `end` if it caught up.
    const from = snapshot !== undefined ? snapshot.offset + 1 : caughtUp ? end : 0;
    const state = await readTail(roomId, partition, from, base);
    // A room whose state has no create event is one we do not participate in (an invite received
    // through /invite): nothing can be decided on it until we join it.
    if (!isCreated(state) || !state.state.has(CREATE_KEY)) return undefined;
    const entry = newEntry(roomId, state, partition);
    remember(roomId, entry);
    return entry;
  };

  /** Resolves once the rooms projection has applied the record at `appended`. */
  const projected = async (appended: Appended): Promise<void> => {
    await projection.waitFor(appended.partition, appended.offset, timeoutMs);
  };

  /**
   * Appends commands' records in one request, once the room's append before them (`after`) is
   * written; answers where each command's last record landed.
   */
  const append = async (roomId: string, batch: readonly (readonly RoomRecord[])[], after?: Promise<unknown>): Promise<Appended[]> => {
    const positions = await log.append(ROOM_EVENTS_TOPIC, batch.flat().map((record) => ({
      key: roomId, value: record as unknown as LogValue, headers: { type: record.type },
    })), after === undefined ? undefined : { after });
    let index = 0;
    return batch.map((records) => positions[(index += records.length) - 1]!);
  };

  const newEntry = (roomId: string, state: Entry['state'], partition: number): Entry => {
    const entry: Entry = {
      state, partition, transactions: new RoomTransactions(),
      appends: createGroupCommit((batch, previous) => append(roomId, batch, previous), {
        // Whether a failed append happened is unknown, and later commands were decided on top of
        // it: fail them all and reload the room from the log next time.
        failQueuedOnError: true,
        pipeline: options.appendsInFlight ?? 1,
        onError: (error) => {
          entry.failed = error;
          if (rooms.get(roomId) === entry) rooms.delete(roomId);
        },
      }),
    };
    return entry;
  };

  /**
   * Folds decided records into the room's state at once and queues their append; resolves with
   * where the last one landed. The caller waits for the append and the projection outside the queue.
   */
  const commit = (entry: Entry, records: readonly RoomRecord[]): Promise<Appended> => {
    if (entry.failed !== undefined) return Promise.reject(entry.failed);
    const state = records.reduce(evolve, entry.state as RoomState);
    if (!isCreated(state)) return Promise.reject(new Error('room writer: records did not create the room'));
    entry.state = state;
    const appended = entry.appends.add(records);
    entry.lastCommit = appended;
    return appended;
  };

  /**
   * Resolves once the rooms projection holds everything committed for the room so far. Local
   * commands decide on the state in memory alone; remote PDUs also read the event graph (events of
   * other forks' states, auth chains), which must then not lag behind the writer.
   */
  const caughtUp = async (entry: Entry): Promise<void> => {
    if (entry.lastCommit !== undefined) await projected(await entry.lastCommit);
  };

  return {
    async createRoom(request) {
      const preloaded = await preload(request.events);
      // Since v12 the room id is the create event's hash: one user creating two rooms alike within
      // a millisecond would get the same id, so the later is created a millisecond later instead.
      for (let later = 0; ; later += 1) {
        const decision = decide({
          type: 'createRoom',
          ...(request.roomId === undefined ? {} : { roomId: request.roomId }),
          createContent: request.createContent,
          creator: request.creator,
          events: request.events,
          ...(request.claimedAliases === undefined ? {} : { claimedAliases: request.claimedAliases }),
          signingKey: keys.current(),
          local: request.local,
          now: options.now() + later,
        }, initialState, withPreloaded(lookupsOf(initialState), preloaded));
        const records = recordsOf(decision);
        const roomId = records[0]!.roomId;
        const appended = await run(roomId, async () => {
          // A room this writer created is in memory, or was projected before it was forgotten.
          if (rooms.has(roomId) || (await readModel.roomInfo(roomId)) !== undefined) return undefined;
          const entry = newEntry(roomId, initialState as Entry['state'], await log.partitionFor(ROOM_EVENTS_TOPIC, roomId));
          remember(roomId, entry);
          return { pending: commit(entry, records) };
        });
        if (appended === undefined) {
          if (request.roomId === undefined && later < MAX_CREATE_ATTEMPTS) continue;
          throw new MatrixError('M_ROOM_IN_USE', 400, 'Room id already in use');
        }
        await projected(await appended.pending);
        return { roomId, eventIds: records.map((record) => record.eventId) };
      }
    },

    async send(roomId, event, local) {
      const timed = options.onSendStage === undefined ? undefined : stageTimer(options.onSendStage);
      const { txnId } = local;
      const deviceKey = deviceKeyOf(local);
      // A device's transaction ids are read before the room's queue, so the room's other commands
      // do not wait for that query, and only when it first sends after the room was loaded. The read
      // model answers for everything appended before the entry was loaded (loading waits for the
      // projection); the entry's memory for what came since. So the early answer stands if the
      // entry it ran beside is still the one in use; an entry loaded meanwhile reads again.
      const cached = rooms.get(roomId);
      const readStored = () => readModel.transactionsOfDevice(roomId, local.userId, local.deviceId, transactionsReadPerDevice);
      const early = txnId === null || cached === undefined || cached.transactions.known(deviceKey) !== undefined ? undefined : readStored();
      early?.catch(() => undefined);
      const preloaded = await preload([event]);
      timed?.restart();
      const sent = await run(roomId, async (): Promise<{ eventId: string; deduplicated: boolean; appended?: Promise<Appended> }> => {
        timed?.done('queue');
        const entry = await load(roomId);
        if (entry === undefined) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
        let device: DeviceTransactions<Appended> | undefined;
        if (txnId !== null) {
          device = entry.transactions.known(deviceKey)
            ?? entry.transactions.add(deviceKey, early !== undefined && entry === cached ? await early : await readStored());
          // A retry answers like the first request: once its event is readable.
          const recent = device.sent.get(txnId);
          if (recent !== undefined) return { eventId: recent.eventId, deduplicated: true, ...(recent.appended === undefined ? {} : { appended: recent.appended }) };
          const known = device.complete ? undefined : await readModel.eventIdForTransaction(roomId, local);
          if (known !== undefined) return { eventId: known, deduplicated: true };
        }
        const decision = decide({ type: 'sendLocal', event, signingKey: keys.current(), local, now: options.now() },
          entry.state, withPreloaded(lookupsOf(entry.state), preloaded));
        // The current state already says this: its event answers, as a retried transaction would.
        if (decision.outcome === 'unchanged') return { eventId: decision.event.eventId, deduplicated: true };
        const records = recordsOf(decision);
        const appended = commit(entry, records);
        // Its failure reaches the caller below; a retry of the transaction sees it too.
        appended.catch(() => undefined);
        const eventId = records[records.length - 1]!.eventId;
        if (device !== undefined) rememberTransaction(device, txnId!, { eventId, appended });
        return { eventId, deduplicated: false, appended };
      });
      if (sent.appended !== undefined) {
        timed?.done('decide');
        const appended = await sent.appended;
        timed?.done('append');
        await projected(appended);
        timed?.done('apply');
      }
      return { eventId: sent.eventId, deduplicated: sent.deduplicated };
    },

    state: (roomId) => run(roomId, async () => (await load(roomId))?.state),

    async authorize(roomId, event) {
      const preloaded = await preload([event]);
      await run(roomId, async () => {
        const entry = await load(roomId);
        if (entry === undefined) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
        const decision = decide({ type: 'sendLocal', event, signingKey: keys.current(), local: { userId: event.sender, deviceId: null, txnId: null }, now: options.now() },
          entry.state, withPreloaded(lookupsOf(entry.state), preloaded));
        if (decision.outcome !== 'unchanged') recordsOf(decision);
      });
    },

    async prepare(roomId, event) {
      const preloaded = await preload([event]);
      return run(roomId, async () => {
        const entry = await load(roomId);
        if (entry === undefined) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
        const decision = decide({ type: 'sendLocal', event, signingKey: keys.current(), local: { userId: event.sender, deviceId: null, txnId: null }, now: options.now() },
          entry.state, withPreloaded(lookupsOf(entry.state), preloaded));
        // A repeat of the current state event (an identical invite): that event, already in the room.
        if (decision.outcome === 'unchanged') return decision.event.pdu;
        const records = recordsOf(decision);
        return (records[records.length - 1] as { pdu: Pdu }).pdu;
      });
    },

    ...remoteWriting({
      run, load, commit, projected, caughtUp, now: options.now, keys, remote: options.remote,
      loadOrCreate: async (roomId) => {
        const entry = (await load(roomId)) ?? newEntry(roomId, initialState as Entry['state'], await log.partitionFor(ROOM_EVENTS_TOPIC, roomId));
        remember(roomId, entry);
        return entry;
      },
      appendAlone: async (roomId, record) => (await append(roomId, [[record]]))[0]!,
    }),
  };
};

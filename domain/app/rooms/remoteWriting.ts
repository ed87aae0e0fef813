/**
 * The room writer's side for events from other servers: remote PDUs judged by the decider
 * (server-server-api § Checks performed on receipt of a PDU), outliers, backfilled history, joins
 * through another server, memberships in rooms we are not in, and membership templates. The same
 * single writer per room runs them (`core.run`), so the log stays the one order of the room.
 */
import { MatrixError } from '../../errors.ts';
import { roomEventOfAcceptedPdu, toRoomEvent } from '../../events/index.ts';
import { isJsonObject } from '../../json.ts';
import type { ServerKeys } from '../../ports/rooms.ts';
import {
  decide, decideImportedState, decideOutliers, evolve, membershipTemplate,
  type MembershipOutOfBand, type PduBackfilled, type RoomLookups, type RoomRecord, type RoomState,
} from '../../room/index.ts';
import { roomVersionRules, type RoomVersionRules } from '../../roomVersions/index.ts';
import { remoteLookups, warmVerifyKeys, type RemoteLookupSources } from './remoteLookups.ts';
import type { IngestResult, RoomWriter } from './roomWriter.ts';

/** Where an appended record landed in the log. */
interface Appended {
  readonly partition: number;
  readonly offset: number;
}

/** What the writer lends these methods: its per-room queue, its rooms in memory, its appends. */
export interface WriterCore<E extends { state: RoomState }> {
  run<T>(roomId: string, task: () => Promise<T>): Promise<T>;
  load(roomId: string): Promise<E | undefined>;
  /** The room's entry, a fresh one on the initial state for a room this server never held. */
  loadOrCreate(roomId: string): Promise<E>;
  commit(entry: E, records: readonly RoomRecord[]): Promise<Appended>;
  /** Appends one record that changes nothing the writer holds (records.ts `membership.outOfBand`). */
  appendAlone(roomId: string, record: RoomRecord): Promise<Appended>;
  projected(appended: Appended): Promise<void>;
  /** Resolves once the read model holds every record committed for the entry's room (its graph is read next). */
  caughtUp(entry: E): Promise<void>;
  readonly now: () => number;
  readonly keys: ServerKeys;
  readonly remote: RemoteLookupSources | undefined;
}

const STATUS: Record<string, number> = { M_FORBIDDEN: 403, M_NOT_FOUND: 404, M_BAD_JSON: 400 };

const requireRemote = <E extends { state: RoomState }>(core: WriterCore<E>): RemoteLookupSources => {
  if (core.remote === undefined) throw new MatrixError('M_UNRECOGNIZED', 404, 'this server does not federate');
  return core.remote;
};

type Created = RoomState & { roomId: string; rules: RoomVersionRules };

/** Lookups over the writer's state events alone (a membership template reads only the current state). */
const stateLookups = (state: RoomState): RoomLookups => {
  const byId = new Map([...state.stateEvents.values()].map((event) => [event.eventId, event]));
  return { getEvent: (id) => byId.get(id), isRejected: () => false, stateAfter: () => undefined, verifyKey: () => undefined };
};

export const remoteWriting = <E extends { state: RoomState }>(core: WriterCore<E>): Pick<RoomWriter,
  'ingest' | 'storeOutliers' | 'storeBackfilled' | 'importJoin' | 'recordOutOfBand' | 'membershipTemplate'> => {
  /**
   * Events another server gave us outside the timeline's order, checked as outliers are
   * (`decideOutliers`); `recordsOf` says what of them goes into the log.
   */
  const storeChecked = async (
    roomId: string, pdus: readonly unknown[],
    recordsOf: (decided: ReturnType<typeof decideOutliers>, rules: RoomVersionRules, receivedAt: number) => readonly RoomRecord[],
  ): Promise<{ records: readonly RoomRecord[]; skipped: readonly string[] }> => {
    const remote = requireRemote(core);
    await warmVerifyKeys(remote, pdus);
    const stored = await core.run(roomId, async () => {
      const entry = await core.load(roomId);
      if (entry === undefined) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
      await core.caughtUp(entry);
      const state = entry.state as Created;
      const receivedAt = core.now();
      const decided = decideOutliers({ roomId, rules: state.rules, receivedAt }, pdus, await remoteLookups(remote, state, pdus.filter(isJsonObject)));
      const records = recordsOf(decided, state.rules, receivedAt);
      return { records, skipped: decided.skipped, appended: records.length === 0 ? undefined : core.commit(entry, records) };
    });
    if (stored.appended !== undefined) await core.projected(await stored.appended);
    return stored;
  };

  return {
    async ingest(roomId, pdu, _origin, stateBefore) {
      const remote = requireRemote(core);
      await warmVerifyKeys(remote, [pdu]);
      const sent = await core.run(roomId, async (): Promise<{ result: IngestResult; appended?: Promise<Appended> }> => {
        const entry = await core.load(roomId);
        if (entry === undefined) return { result: { outcome: 'unknownRoom' } };
        await core.caughtUp(entry);
        const state = entry.state as Created;
        const parsed = toRoomEvent(pdu, state.rules);
        if (parsed.ok && (await remote.graph.eventsByIds([parsed.value.eventId])).length > 0) return { result: { outcome: 'known' } };
        const lookups = await remoteLookups(remote, state, [pdu], stateBefore);
        const decision = decide({ type: 'ingestPdu', pdu, origin: '', receivedAt: core.now() }, state, lookups);
        switch (decision.outcome) {
          case 'dropped':
            return { result: { outcome: 'dropped', reason: decision.reason } };
          case 'missing':
            return { result: { outcome: 'missing', eventIds: decision.eventIds } };
          case 'refused':
            return { result: { outcome: 'dropped', reason: decision.error.reason } };
          case 'records': {
            const record = decision.records[0]!;
            const appended = core.commit(entry, decision.records);
            appended.catch(() => undefined);
            const result: IngestResult = record.type === 'pdu.rejected' ? { outcome: 'rejected', reason: record.reason }
              : record.type === 'pdu.softFailed' ? { outcome: 'softFailed' } : { outcome: 'accepted' };
            return { result, appended };
          }
        }
      });
      if (sent.appended !== undefined) await core.projected(await sent.appended);
      return sent.result;
    },

    async storeOutliers(roomId, pdus) {
      const stored = await storeChecked(roomId, pdus, (decided) => decided.records);
      return { stored: stored.records.length, skipped: stored.skipped };
    },

    async storeBackfilled(roomId, pdus) {
      const stored = await storeChecked(roomId, pdus, (decided, rules, receivedAt) => [...decided.passed.values()]
        // Newest first: each lands before the previous one (records.ts `pdu.backfilled`).
        .sort((a, b) => b.depth - a.depth || (a.eventId < b.eventId ? 1 : -1))
        .map((event): PduBackfilled => ({ type: 'pdu.backfilled', v: 1, roomId, roomVersion: rules.id, eventId: event.eventId, pdu: event.pdu, receivedAt })));
      return { stored: stored.records.length, skipped: stored.skipped };
    },

    async importJoin(join) {
      const remote = requireRemote(core);
      await warmVerifyKeys(remote, [...join.authChain, ...join.state, join.join]);
      const rules = roomVersionRules(join.roomVersion);
      if (rules === undefined) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', 400, `unsupported room version ${join.roomVersion}`);
      const parsedJoin = toRoomEvent(join.join, rules);
      if (!parsedJoin.ok) throw new MatrixError('M_BAD_JSON', 400, `our join is not a valid event: ${parsedJoin.error}`);
      const joined = await core.run(join.roomId, async (): Promise<{ result: IngestResult; appended?: Promise<Appended> }> => {
        const entry = await core.loadOrCreate(join.roomId);
        await core.caughtUp(entry);
        // The answer's events are judged on a state that knows the room's id and version.
        const base = { ...entry.state, roomId: join.roomId, rules } as Created;
        const pdus = [...join.authChain, ...join.state].filter(isJsonObject);
        const lookups = await remoteLookups(remote, base, [...pdus, join.join]);
        const imported = decideImportedState({
          roomId: join.roomId, rules, state: join.state, authChain: join.authChain, joinPrevEvents: parsedJoin.value.prevEventIds, receivedAt: core.now(),
        }, base, lookups);
        if (imported.outcome === 'dropped') return { result: { outcome: 'dropped', reason: imported.reason } };
        const afterImport = imported.records.reduce(evolve, base as RoomState) as Created;
        const outliers = new Map(imported.records.flatMap((record) =>
          record.type === 'pdu.outlier' ? [[record.eventId, roomEventOfAcceptedPdu(record.pdu, rules, record.eventId)] as const] : []));
        const decision = decide({ type: 'ingestPdu', pdu: join.join, origin: '', receivedAt: core.now() }, afterImport,
          { ...lookups, getEvent: (id) => outliers.get(id) ?? lookups.getEvent(id) });
        if (decision.outcome !== 'records') {
          return { result: decision.outcome === 'missing' ? { outcome: 'missing', eventIds: decision.eventIds }
            : { outcome: 'dropped', reason: decision.outcome === 'dropped' ? decision.reason : decision.outcome === 'refused' ? decision.error.reason : 'not decided' } };
        }
        const record = decision.records[0]!;
        if (record.type !== 'pdu.accepted') return { result: { outcome: 'rejected', reason: 'reason' in record ? record.reason : 'not accepted' } };
        const appended = core.commit(entry, [...imported.records, ...decision.records]);
        appended.catch(() => undefined);
        return { result: { outcome: 'accepted' }, appended };
      });
      if (joined.appended !== undefined) await core.projected(await joined.appended);
      return joined.result;
    },

    async recordOutOfBand(membership) {
      const appended = await core.run(membership.roomId, async () => {
        if ((await core.load(membership.roomId)) !== undefined) throw new MatrixError('M_FORBIDDEN', 403, 'this server is in the room: its events come through /send');
        const record: MembershipOutOfBand = { type: 'membership.outOfBand', v: 1, ...membership, receivedAt: core.now() };
        return core.appendAlone(membership.roomId, record);
      });
      await core.projected(appended);
    },

    membershipTemplate: (roomId, userId, membership, content) => core.run(roomId, async () => {
      const entry = await core.load(roomId);
      if (entry === undefined) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
      const made = membershipTemplate(entry.state, stateLookups(entry.state), {
        userId, membership, now: core.now(), signingKey: core.keys.current(), ...(content === undefined ? {} : { content }),
      });
      if (!made.ok) throw new MatrixError(made.error.errcode, STATUS[made.error.errcode] ?? 400, made.error.reason);
      return { roomVersion: (entry.state.rules as RoomVersionRules).id, template: made.template };
    }),
  };
};

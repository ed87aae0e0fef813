/**
 * Test fixture: what each analytics rollup must hold, folded straight from the room records in
 * memory (independently of the projection), as `key → count` maps whose keys join the dimensions
 * with '|'. Buckets are ms since the epoch (UTC); events by origin_server_ts (a rejected one by when
 * it was rejected), redactions by when they were accepted.
 */
import type { EventRecord } from '../../../domain/index.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface ExpectedRollups {
  /** room|hour|status → events, and → distinct senders. */
  readonly roomHourlyEvents: Map<string, number>;
  readonly roomHourlySenders: Map<string, number>;
  readonly roomDailyEvents: Map<string, number>;
  readonly roomDailySenders: Map<string, number>;
  /** room|day|type → accepted events. */
  readonly roomDailyTypes: Map<string, number>;
  /** sender|day|status → events, and → distinct rooms. */
  readonly senderDailyEvents: Map<string, number>;
  readonly senderDailyRooms: Map<string, number>;
  /** server|day|status → events, distinct senders, distinct rooms. */
  readonly serverDailyEvents: Map<string, number>;
  readonly serverDailySenders: Map<string, number>;
  readonly serverDailyRooms: Map<string, number>;
  /** day → users with an accepted event; day|origin → the same by origin. */
  readonly dailyActiveUsers: Map<string, number>;
  readonly dailyActiveUsersByOrigin: Map<string, number>;
  /** month (its first day) → users. */
  readonly monthlyActiveUsers: Map<string, number>;
  /** room|hour and room|day → events redacted. */
  readonly redactedHourly: Map<string, number>;
  readonly redactedDaily: Map<string, number>;
}

const monthOf = (ms: number): number => {
  const at = new Date(ms);
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
};

/** Adds `member` to the set under `key`; sets become counts at the end. */
const collect = (into: Map<string, Set<string>>, key: string, member: string): void => {
  const set = into.get(key) ?? new Set();
  set.add(member);
  into.set(key, set);
};
const sizes = (sets: Map<string, Set<string>>): Map<string, number> => new Map([...sets].map(([key, set]) => [key, set.size]));

export const expectedRollups = (records: readonly EventRecord[], isBridged: (userId: string) => boolean): ExpectedRollups => {
  const sets = Object.fromEntries([
    'roomHourlyEvents', 'roomHourlySenders', 'roomDailyEvents', 'roomDailySenders', 'roomDailyTypes', 'senderDailyEvents',
    'senderDailyRooms', 'serverDailyEvents', 'serverDailySenders', 'serverDailyRooms', 'dailyActiveUsers',
    'dailyActiveUsersByOrigin', 'monthlyActiveUsers', 'redactedHourly', 'redactedDaily',
  ].map((name) => [name, new Map<string, Set<string>>()])) as Record<keyof ExpectedRollups, Map<string, Set<string>>>;

  for (const record of records) {
    if (record.type === 'pdu.rejected') {
      const hour = record.rejectedAt - (record.rejectedAt % HOUR);
      const day = record.rejectedAt - (record.rejectedAt % DAY);
      collect(sets.roomHourlyEvents, `${record.roomId}|${hour}|rejected`, record.eventId);
      collect(sets.roomHourlySenders, `${record.roomId}|${hour}|rejected`, '');
      collect(sets.roomDailyEvents, `${record.roomId}|${day}|rejected`, record.eventId);
      collect(sets.roomDailySenders, `${record.roomId}|${day}|rejected`, '');
      continue;
    }
    if (record.type !== 'pdu.accepted' && record.type !== 'pdu.softFailed') continue;
    const status = record.type === 'pdu.accepted' ? 'accepted' : 'soft_failed';
    const pdu = record.pdu;
    const sender = String(pdu.sender);
    const server = sender.slice(sender.indexOf(':') + 1);
    const ts = Number(pdu.origin_server_ts);
    const hour = ts - (ts % HOUR);
    const day = ts - (ts % DAY);
    const id = record.eventId;
    const room = record.roomId;
    collect(sets.roomHourlyEvents, `${room}|${hour}|${status}`, id);
    collect(sets.roomHourlySenders, `${room}|${hour}|${status}`, sender);
    collect(sets.roomDailyEvents, `${room}|${day}|${status}`, id);
    collect(sets.roomDailySenders, `${room}|${day}|${status}`, sender);
    collect(sets.senderDailyEvents, `${sender}|${day}|${status}`, id);
    collect(sets.senderDailyRooms, `${sender}|${day}|${status}`, room);
    collect(sets.serverDailyEvents, `${server}|${day}|${status}`, id);
    collect(sets.serverDailySenders, `${server}|${day}|${status}`, sender);
    collect(sets.serverDailyRooms, `${server}|${day}|${status}`, room);
    if (record.type !== 'pdu.accepted') continue;
    collect(sets.roomDailyTypes, `${room}|${day}|${String(pdu.type)}`, id);
    const origin = record.local === null ? 'federated' : isBridged(sender) ? 'bridged' : 'local';
    collect(sets.dailyActiveUsers, `${day}`, sender);
    collect(sets.dailyActiveUsersByOrigin, `${day}|${origin}`, sender);
    collect(sets.monthlyActiveUsers, `${monthOf(ts)}`, sender);
    if (pdu.type === 'm.room.redaction') {
      const target = String(pdu.redacts ?? (pdu.content as { redacts?: string }).redacts);
      const at = record.acceptedAt;
      collect(sets.redactedHourly, `${room}|${at - (at % HOUR)}`, target);
      collect(sets.redactedDaily, `${room}|${at - (at % DAY)}`, target);
    }
  }
  return Object.fromEntries(Object.entries(sets).map(([name, map]) => [name, sizes(map)])) as unknown as ExpectedRollups;
};

/**
 * The analytics read port: what the analytics use-cases ask of the metadata view
 * (projections/analytics implements it over ClickHouse). Times are milliseconds since the epoch,
 * `from` inclusive and `to` exclusive, on the event's origin_server_ts.
 */
export type CountsGroupBy = 'type' | 'sender' | 'room' | 'server' | 'hour' | 'day';
export type ActivityBucket = 'hour' | 'day';
export type EventStatus = 'accepted' | 'soft_failed' | 'rejected';

export interface EventCountsQuery {
  readonly from: number;
  readonly to: number;
  readonly groupBy: CountsGroupBy;
  readonly status: EventStatus;
  readonly roomId?: string;
  readonly type?: string;
  readonly limit: number;
}

export interface EventCountRow {
  /** The group: a string for type/sender/room/server, the bucket start (ms) for hour/day. */
  readonly key: string | number;
  readonly count: number;
  /** How many of them a later accepted m.room.redaction targets. */
  readonly redacted: number;
}

export interface RoomActivityQuery {
  readonly roomId: string;
  readonly from: number;
  readonly to: number;
  readonly bucket: ActivityBucket;
  readonly limit: number;
}

export interface RoomActivityRow {
  /** Bucket start, ms since the epoch (UTC). */
  readonly ts: number;
  /** Accepted events. */
  readonly events: number;
  readonly stateEvents: number;
  /** Distinct senders of accepted events. */
  readonly senders: number;
  readonly softFailed: number;
  readonly rejected: number;
  /** Accepted events in the bucket that a later redaction targets. */
  readonly redacted: number;
}

export interface AnalyticsReadModel extends AnalystReadModel {
  eventCounts(query: EventCountsQuery): Promise<EventCountRow[]>;
  roomActivity(query: RoomActivityQuery): Promise<RoomActivityRow[]>;
}

/** Analyst API (see docs/analytics.md): time series, top-N, active users, detail, export, SQL. */
export type TimeBucket = 'minute' | 'hour' | 'day';
export type SeriesGroupBy = 'none' | 'room' | 'sender' | 'server' | 'type' | 'msgtype';
export type TopDimension = 'rooms' | 'senders' | 'servers' | 'types' | 'msgtypes';

export interface TimeseriesQuery {
  readonly bucket: TimeBucket;
  readonly from: number;
  readonly to: number;
  readonly groupBy: SeriesGroupBy;
  readonly status: EventStatus;
  readonly roomId?: string;
  readonly type?: string;
  /** How many groups: the biggest by total in the range. */
  readonly limit: number;
}

/** Non-zero counts of the chosen groups, per bucket; key '' for group_by none. */
export interface TimeseriesCount {
  readonly key: string;
  /** Bucket start, ms since the epoch (UTC). */
  readonly ts: number;
  readonly count: number;
}

export interface TopQuery {
  readonly dimension: TopDimension;
  readonly from: number;
  readonly to: number;
  readonly roomId?: string;
  readonly limit: number;
}

/** Accepted events of one group, and the distinct senders and rooms among them. */
export interface TopRow {
  readonly key: string;
  readonly events: number;
  readonly senders: number;
  readonly rooms: number;
}

export interface TimeRangeQuery {
  readonly from: number;
  readonly to: number;
}

export interface ActiveUsersRow {
  /** Start of the day or month, ms since the epoch (UTC). */
  readonly ts: number;
  readonly users: number;
  readonly local: number;
  readonly bridged: number;
  readonly federated: number;
}

export interface ActiveUsers {
  readonly daily: readonly ActiveUsersRow[];
  readonly monthly: readonly ActiveUsersRow[];
}

export interface KeyCount {
  readonly key: string;
  readonly events: number;
}

export interface RoomDetail {
  readonly roomVersion: string;
  readonly events: number;
  readonly stateEvents: number;
  readonly senders: number;
  readonly redacted: number;
  readonly softFailed: number;
  readonly rejected: number;
  /** origin_server_ts of the first and last accepted event in the range; null without any. */
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  readonly types: readonly KeyCount[];
  readonly topSenders: readonly KeyCount[];
}

export interface UserDetail {
  readonly events: number;
  readonly rooms: number;
  readonly activeDays: number;
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  readonly types: readonly KeyCount[];
  readonly topRooms: readonly KeyCount[];
}

export interface ExportEventsQuery {
  readonly from: number;
  readonly to: number;
  readonly roomId?: string;
  readonly sender?: string;
  readonly type?: string;
  /** Every status when absent. */
  readonly status?: EventStatus;
  readonly limit: number;
}

/** The metadata columns of one event, as exported (never content). */
export const EXPORT_EVENT_COLUMNS = [
  'event_id', 'room_id', 'room_version', 'type', 'msgtype', 'is_state', 'membership', 'encrypted', 'relation_type',
  'thread_root', 'content_bytes', 'sender', 'sender_server', 'origin', 'origin_server_ts', 'received_ts', 'status',
] as const;
export type ExportEventRow = Readonly<Record<(typeof EXPORT_EVENT_COLUMNS)[number], string | number | boolean>>;

export interface SqlQuery {
  readonly query: string;
  /** Rows returned at most; more makes the answer `truncated`. */
  readonly maxRows: number;
}

export interface SqlResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly truncated: boolean;
  readonly statistics: { readonly rowsRead: number; readonly bytesRead: number; readonly elapsedMs: number };
}

/** The analyst API's reads; a refused or failing analyst SQL query throws a MatrixError (400). */
export interface AnalystReadModel {
  timeseries(query: TimeseriesQuery): Promise<TimeseriesCount[]>;
  top(query: TopQuery): Promise<TopRow[]>;
  activeUsers(query: TimeRangeQuery): Promise<ActiveUsers>;
  /** undefined when no row of the warehouse names the room. */
  roomDetail(roomId: string, range: TimeRangeQuery): Promise<RoomDetail | undefined>;
  /** undefined when no row of the warehouse names the user as sender. */
  userDetail(userId: string, range: TimeRangeQuery): Promise<UserDetail | undefined>;
  /** Resolves once the query started (early errors reject); rows arrive as they are read. */
  exportEvents(query: ExportEventsQuery): Promise<AsyncIterable<ExportEventRow>>;
  sql(query: SqlQuery): Promise<SqlResult>;
}

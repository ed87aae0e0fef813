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

export interface AnalyticsReadModel {
  eventCounts(query: EventCountsQuery): Promise<EventCountRow[]>;
  roomActivity(query: RoomActivityQuery): Promise<RoomActivityRow[]>;
}

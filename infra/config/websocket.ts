/**
 * The `websocket:` section: bounds of the WebSocket streams on the client listener (gateways/ws).
 * Synapse has no WebSocket API, so the names are Strata's: `max_sockets_per_user` (10),
 * `max_buffered_size` (unread output past which a socket is closed as a slow reader, 8M) and
 * `heartbeat_interval` (30s; a peer that has not answered the previous ping is cut).
 */
import { Schema } from 'effect';
import { DEFAULT_EVENT_SOCKET_LIMITS } from '../../gateways/ws/index.ts';
import { parseDuration } from './retention.ts';
import { parseSize } from './urlPreview.ts';

export interface WebsocketSettings {
  readonly maxSocketsPerUser: number;
  readonly maxBufferedBytes: number;
  readonly heartbeatIntervalMs: number;
}

/** Heartbeats closer than a second only cost; further than an hour leave dead peers too long. */
const HEARTBEAT_BOUNDS_MS = { min: 1_000, max: 3_600_000 };

export const WebsocketFile = Schema.Struct({
  max_sockets_per_user: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1_000))),
  max_buffered_size: Schema.optionalKey(Schema.Union([Schema.String, Schema.Number]).check(Schema.makeFilter((value: string | number) => {
    const bytes = parseSize(value);
    return typeof bytes === 'string' ? bytes : undefined;
  }))),
  heartbeat_interval: Schema.optionalKey(Schema.Union([Schema.String, Schema.Number]).check(Schema.makeFilter((value: string | number) => {
    const ms = parseDuration(value);
    if (typeof ms === 'string') return ms;
    return ms < HEARTBEAT_BOUNDS_MS.min || ms > HEARTBEAT_BOUNDS_MS.max ? 'must be between 1s and 1h' : undefined;
  }))),
});

export type WebsocketFile = typeof WebsocketFile.Type;

export const websocketSettings = (file: WebsocketFile | undefined): WebsocketSettings => ({
  maxSocketsPerUser: file?.max_sockets_per_user ?? DEFAULT_EVENT_SOCKET_LIMITS.maxSocketsPerUser,
  maxBufferedBytes: file?.max_buffered_size === undefined ? DEFAULT_EVENT_SOCKET_LIMITS.maxBufferedBytes : parseSize(file.max_buffered_size) as number,
  heartbeatIntervalMs: file?.heartbeat_interval === undefined
    ? DEFAULT_EVENT_SOCKET_LIMITS.heartbeatIntervalMs : parseDuration(file.heartbeat_interval) as number,
});

/** WebSocket gateways on the client listener (upgrades under `/_strata/ws/`). */
export {
  closeReason, EVENT_SOCKET_CLOSE, matrixErrorCloseCode,
  type EventSocketCloseReason, type EventSocketMetrics, type SocketLimits, type WebSocketGateway,
} from './sockets.ts';
export {
  createUserEventSockets, DEFAULT_EVENT_SOCKET_LIMITS, USER_EVENTS_PATH, type EventSocketLimits, type UserEventSocketsOptions,
} from './userEvents.ts';
export {
  ANALYTICS_COUNTERS_PATH, createAnalyticsCounterSockets, DEFAULT_ANALYTICS_SOCKET_LIMITS, type AnalyticsCounterSocketsOptions,
} from './analyticsCounters.ts';

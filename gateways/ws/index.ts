/** WebSocket gateways on the client listener (upgrades under `/_strata/ws/`). */
export {
  closeReason, createUserEventSockets, DEFAULT_EVENT_SOCKET_LIMITS, EVENT_SOCKET_CLOSE, USER_EVENTS_PATH,
  type EventSocketCloseReason, type EventSocketLimits, type EventSocketMetrics, type UserEventSocketsOptions, type WebSocketGateway,
} from './userEvents.ts';

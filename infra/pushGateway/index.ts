/** Push gateway delivery (public surface): the room log consumer and its HTTP client. */
export { createPushGatewayClient, type PushGatewayClient, type PushGatewayClientOptions, type PushGatewayLogger } from './httpClient.ts';
export { startPushSender, type PushSenderLogger, type StartPushSenderOptions } from './pushSender.ts';
export { PUSH_SENDER_NAME, PUSH_SENDER_POSITIONS } from './positions.ts';
export { createPusherUsers, type PusherUsers } from './pusherUsers.ts';

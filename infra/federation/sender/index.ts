/** The federation sender (public surface): the room log consumer delivering our events and EDUs to other servers. */
export { startFederationSender, type FederationSender, type StartFederationSenderOptions } from './sender.ts';
export { FEDERATION_SENDER_NAME, FEDERATION_SENDER_POSITIONS } from './store.ts';
export { sendTransactionThrough, type SendTransaction, type TransactionResult } from './transport.ts';

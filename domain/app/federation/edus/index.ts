/** Inbound EDUs (server-server-api § EDUs): what a transaction's `edus` change here (public surface). */
export { createEduReceiver, type EduLog, type EduReceiver, type EduReceiverContext } from './receiver.ts';
export { parseEdu, type InboundEdu, type Parsed } from './parse.ts';
export { EDU_LIMITS } from './limits.ts';

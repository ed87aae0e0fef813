export * from './pdu.ts';

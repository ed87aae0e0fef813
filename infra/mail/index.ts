/** Outgoing mail. */
export { createSmtpMailer } from './smtpMailer.ts';

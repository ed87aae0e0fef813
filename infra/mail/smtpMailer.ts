/**
 * The Mailer port over SMTP (nodemailer), configured by the `email:` section. Connecting, greeting
 * and the whole exchange are bounded in time, so a mail server that hangs cannot hold a request.
 */
import { createTransport } from 'nodemailer';
import type { Mailer } from '../../domain/ports/index.ts';
import type { EmailSettings } from '../config/index.ts';

const TIMEOUT_MS = 10_000;

export const createSmtpMailer = (settings: EmailSettings): Mailer & { close(): void } => {
  const transport = createTransport({
    host: settings.smtpHost,
    port: settings.smtpPort,
    secure: settings.forceTls,
    requireTLS: settings.requireTransportSecurity,
    // Without `require_transport_security`, STARTTLS is still used when offered, as Synapse does.
    ignoreTLS: false,
    ...(settings.smtpUser === undefined ? {} : { auth: { user: settings.smtpUser, pass: settings.smtpPass ?? '' } }),
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
  return {
    async send(mail) {
      await transport.sendMail({ from: settings.notifFrom, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
};

/**
 * The `email:` section (Synapse's names): the SMTP server that carries validation mails and the
 * sender they come from. Without it, no email can be validated and every email `requestToken`
 * answers the spec's refusal. Beside it, `trusted_third_party_id_servers` (Synapse's former name):
 * the identity servers users may bind addresses at and invite by email through.
 */
import { Schema } from 'effect';
import { Duration, parseDuration } from './retention.ts';

/** Synapse's `notif_from` may name the sender: `Strata <noreply@example.org>` or a bare address. */
const NOTIF_FROM = /^(?:[^<>]*<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+)$/;

export const EmailFile = Schema.Struct({
  smtp_host: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9.:[\]-]+$/))),
  smtp_port: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))),
  smtp_user: Schema.optionalKey(Schema.String),
  smtp_pass: Schema.optionalKey(Schema.String),
  /** Refuse to send unless the server offers STARTTLS (Synapse's name). */
  require_transport_security: Schema.optionalKey(Schema.Boolean),
  /** Connect with TLS from the start (SMTPS, usually port 465). */
  force_tls: Schema.optionalKey(Schema.Boolean),
  notif_from: Schema.String.check(Schema.isPattern(NOTIF_FROM)),
  client_base_url: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/))),
  validation_token_lifetime: Schema.optionalKey(Duration),
});
export type EmailFile = typeof EmailFile.Type;

export interface EmailSettings {
  readonly smtpHost: string;
  readonly smtpPort: number;
  readonly smtpUser?: string;
  readonly smtpPass?: string;
  readonly requireTransportSecurity: boolean;
  readonly forceTls: boolean;
  readonly notifFrom: string;
  readonly clientBaseUrl?: string;
  readonly validationTokenLifetimeMs: number;
}

/** Synapse's defaults: localhost:25, tokens valid for an hour. */
export const emailSettings = (file: EmailFile | undefined): EmailSettings | undefined => {
  if (file === undefined) return undefined;
  return {
    smtpHost: file.smtp_host ?? 'localhost',
    smtpPort: file.smtp_port ?? (file.force_tls === true ? 465 : 25),
    ...(file.smtp_user === undefined ? {} : { smtpUser: file.smtp_user }),
    ...(file.smtp_pass === undefined ? {} : { smtpPass: file.smtp_pass }),
    requireTransportSecurity: file.require_transport_security ?? false,
    forceTls: file.force_tls ?? false,
    notifFrom: file.notif_from,
    ...(file.client_base_url === undefined ? {} : { clientBaseUrl: file.client_base_url }),
    validationTokenLifetimeMs: file.validation_token_lifetime === undefined ? 3_600_000 : parseDuration(file.validation_token_lifetime) as number,
  };
};

/** `host`, `host:port` or `[v6]:port`, as clients name an `id_server`. */
export const TrustedIdServers = Schema.Array(Schema.String.check(Schema.isPattern(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/)));

/**
 * One transaction over the signed federation client: `PUT /_matrix/federation/v1/send/{txnId}`
 * (server-server-api.md § Transactions), answered as delivered, to be retried after backoff, or
 * refused for good. The per-PDU results a receiver answers (`pdus: {event_id: {error}}`) are the
 * receiver's verdicts on our events, not delivery failures: they are reported, never retried.
 */
import { outcomeOfStatus, type TransactionOutcome } from '../../../domain/app/federation/sender/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../domain/index.ts';
import { FederationClientError, FederationHttpError, type FederationClient } from '../client/index.ts';

export interface TransactionResult {
  readonly outcome: TransactionOutcome;
  /** Why it was not delivered (for the log). */
  readonly error?: unknown;
  /** PDUs the receiver refused: event id → its error. */
  readonly pduErrors: ReadonlyMap<string, string>;
}

export type SendTransaction = (destination: string, txnId: string, body: JsonObject) => Promise<TransactionResult>;

const pduErrorsOf = (answer: JsonValue): Map<string, string> => {
  const errors = new Map<string, string>();
  const pdus = isJsonObject(answer) ? answer.pdus : undefined;
  if (!isJsonObject(pdus)) return errors;
  for (const [eventId, result] of Object.entries(pdus)) {
    if (isJsonObject(result) && result.error !== undefined) errors.set(eventId, String(result.error).slice(0, 200));
  }
  return errors;
};

export const sendTransactionThrough = (
  client: Pick<FederationClient, 'request'>, options: { readonly timeoutMs?: number } = {},
): SendTransaction => async (destination, txnId, body) => {
  try {
    const answer = await client.request(destination, 'PUT', `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`, body,
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    return { outcome: 'delivered', pduErrors: pduErrorsOf(answer) };
  } catch (error) {
    if (error instanceof FederationHttpError) return { outcome: outcomeOfStatus(error.status), error, pduErrors: new Map() };
    // Outside the domain whitelist: sending again cannot help. Everything else (names that do not
    // resolve, refused connections, TLS, timeouts, odd answers) may pass.
    if (error instanceof FederationClientError && error.kind === 'denied') return { outcome: 'refused', error, pduErrors: new Map() };
    return { outcome: 'retry', error, pduErrors: new Map() };
  }
};

/**
 * What leaves this server for other servers besides room events (server-server-api.md
 * § Transactions, § EDUs): the federation sender (a room log consumer, infra/federation/sender/)
 * implements it and puts each EDU into the next transaction to each destination, beside the PDUs.
 */
import type { JsonObject } from '../json.ts';

/** An ephemeral data unit as it travels in a transaction's `edus`. */
export interface Edu {
  readonly edu_type: string;
  readonly content: JsonObject;
}

export interface FederationOutbox {
  /**
   * Queues `edu` for each destination (our own server name is ignored). Without `durable` it is
   * best effort, as typing, receipts and presence are: kept in memory, retried with the
   * destination's backoff, dropped after a while or on shutdown. With `durable` (to-device
   * messages, device list and signing key updates) it is stored first and removed only when the
   * destination acknowledged the transaction carrying it, so a restart does not lose it.
   * Resolves once queued (stored, when durable); delivery happens in the background.
   */
  sendEdu(destinations: readonly string[], edu: Edu, options?: { readonly durable?: boolean }): Promise<void>;
}

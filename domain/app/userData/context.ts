import type { FederationOutbox } from '../../ports/federationOutbox.ts';
import type { RemoteServers } from '../../ports/remoteServers.ts';
import type { DeviceDirectory, RoomMembership, RoomServers, UserDataStores } from '../../ports/userData.ts';
import type { Notifier } from '../notifier/index.ts';
import type { PresenceTracker } from './presenceTracker.ts';
import type { TypingStream } from './typing.ts';

/** Everything the per-user data use-cases depend on; built once by the composition root. */
export interface UserDataContext {
  readonly stores: UserDataStores;
  readonly notifier: Notifier;
  readonly membership: RoomMembership;
  /** Local users' devices, for `*` to-device targets and device display names in /keys/query. */
  readonly devices: DeviceDirectory;
  readonly clock: { now(): number };
  /** This homeserver's server name: only local users get to-device messages and keys for now. */
  readonly serverName: string;
  /** Other homeservers, asked for their users' keys; absent: those users are reported as failures. */
  readonly remoteServers?: Pick<RemoteServers, 'queryKeys' | 'claimKeys'>;
  readonly typing: TypingStream;
  /** Presence that follows syncs and activity, with its idle/offline timers (presenceTracker.ts). */
  readonly presence: PresenceTracker;
  /** Where our users' typing, receipts, presence, keys and to-device messages leave for other servers; absent: no federation. */
  readonly federation?: UserDataFederation;
  /**
   * Called after a user's own read receipt (m.read or m.read.private) was stored: their badge may
   * have dropped, which the push sender tells their push gateways. It must not wait for them.
   */
  readonly onReadReceipt?: (userId: string) => void;
}

/** What the use-cases need to tell other servers (federationEdus.ts). */
export interface UserDataFederation {
  readonly outbox: FederationOutbox;
  readonly rooms: RoomServers;
}

/** The authenticated requester (the accounts layer's `Requester` fits). */
export interface Requester {
  readonly userId: string;
  readonly deviceId: string;
}

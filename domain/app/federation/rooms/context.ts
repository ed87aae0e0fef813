/** What the federation room use-cases (joins, leaves, invites, transactions) need. */
import type { SigningKey } from '../../../events/index.ts';
import type { KeyRing } from '../../../ports/keyRing.ts';
import type { RemoteRooms } from '../../../ports/remoteRooms.ts';
import type { RoomEventGraph } from '../../../ports/roomEvents.ts';
import type { RoomReadModel } from '../../../ports/rooms.ts';
import type { RoomWriter } from '../../rooms/roomWriter.ts';
import type { ServerAclGuard } from '../serverAcl.ts';

export interface FederationRoomsContext {
  readonly serverName: string;
  readonly writer: RoomWriter;
  readonly graph: RoomEventGraph;
  /** Members and users' rooms, for authorising restricted joins as the resident server. */
  readonly rooms: Pick<RoomReadModel, 'members' | 'roomsWithMembership'>;
  readonly keyRing: KeyRing;
  readonly remoteRooms: RemoteRooms;
  readonly acl: ServerAclGuard;
  readonly signingKey: () => SigningKey;
  /** Whether a local user blocks invites (m.invite_permission_config); absent: never. */
  readonly blocksInvites?: (userId: string) => Promise<boolean>;
  readonly now: () => number;
}

/**
 * What the inbound federation queries read (server-server-api.md § Querying for information,
 * § Device Management, § End-to-End Encryption, § OpenID, § Public Room Directory): the same
 * stores and read models the client API reads, narrowed to the calls these answers need.
 */
import type { JsonObject } from '../../json.ts';
import type { ProfileReader, RoomDirectory, RoomReadModel } from '../../ports/rooms.ts';
import type { CrossSigningStore, DeviceDirectory, KeyStore } from '../../ports/userData.ts';
import type { AppserviceQueries } from '../appservices/index.ts';
import type { PublicRoomsRequest } from '../rooms/directory.ts';

export interface FederationQueriesContext {
  /** Our server name: only our users and aliases are answered for. */
  readonly serverName: string;
  readonly profiles: ProfileReader;
  readonly directory: Pick<RoomDirectory, 'resolveAlias'>;
  readonly rooms: Pick<RoomReadModel, 'members'>;
  readonly devices: DeviceDirectory;
  readonly keys: Pick<KeyStore, 'getDeviceKeys' | 'claim' | 'currentDeviceListPosition'>;
  readonly crossSigning: Pick<CrossSigningStore, 'getKeys' | 'signaturesOn'>;
  /** The accounts use-case that checks OpenID tokens issued through the client API. */
  readonly openIdUserInfo: (token: string) => Promise<{ sub: string }>;
  /** The client API's `/publicRooms` use-case, over the same directory. */
  readonly publicRooms: (request: PublicRoomsRequest) => Promise<JsonObject>;
  /** Bridges asked about our aliases nobody here created (as Synapse's directory query does); absent: not found. */
  readonly bridgeQueries?: AppserviceQueries;
}

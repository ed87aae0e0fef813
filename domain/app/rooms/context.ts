/** Everything the room use-cases depend on; built once by the composition root. */
import type { Clock, Random } from '../../ports/accounts.ts';
import type { RemoteServers } from '../../ports/remoteServers.ts';
import type { ProfileReader, RoomDirectory, RoomReadModel } from '../../ports/rooms.ts';
import type { UserPreferences } from './preferences.ts';
import type { RoomWriter } from './roomWriter.ts';

export interface RoomsContext {
  readonly serverName: string;
  readonly writer: RoomWriter;
  readonly rooms: RoomReadModel;
  readonly directory: RoomDirectory;
  readonly profiles: ProfileReader;
  readonly clock: Clock;
  readonly random: Random;
  /** Room version for new rooms; "12" by default (the spec's recommendation in v1.19). */
  readonly defaultRoomVersion?: string;
  /** Other homeservers, asked for their aliases and room lists; absent: those are not found. */
  readonly remoteServers?: Pick<RemoteServers, 'queryDirectory' | 'publicRooms'>;
  /** Ignored users (ignoring.ts); absent: nobody is ignored. */
  readonly preferences?: UserPreferences;
}

/** Who is asking, as the accounts layer authenticated them. */
export interface RoomRequester {
  readonly userId: string;
  readonly deviceId: string;
}

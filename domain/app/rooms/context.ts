/** Everything the room use-cases depend on; built once by the composition root. */
import type { AppserviceRegistration } from '../../appservices/index.ts';
import type { JsonObject } from '../../json.ts';
import type { AppserviceQueries } from '../appservices/index.ts';
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
  /** Rooms on other servers (domain/app/federation/rooms); absent: only this server's rooms. */
  readonly federation?: RoomFederation;
  /**
   * Fetches history from before we joined when paging reaches the earliest event held (answers
   * whether anything was added); absent: what we hold is all there is.
   */
  readonly backfill?: (roomId: string, limit: number) => Promise<boolean>;
  /** The application services: exclusive alias namespaces are theirs alone (aliasExclusivity.ts). */
  readonly appservices?: readonly AppserviceRegistration[];
  /**
   * Bridges asked about this server's aliases and users nobody here knows (application services);
   * absent: unknown stays unknown.
   */
  readonly bridgeQueries?: AppserviceQueries;
}

/** What the membership use-cases ask of federation for rooms this server does not participate in. */
export interface RoomFederation {
  /** Joins `roomId` through the first of `servers` that lets us; answers once the room is in our log. */
  join(userId: string, roomId: string, servers: readonly string[], content: JsonObject): Promise<void>;
  /** Invites another server's user: their server co-signs the invite, then it enters the room. */
  invite(userId: string, roomId: string, invitee: string, content: JsonObject): Promise<string>;
  /** Leaves (rejects an invite to, withdraws a knock on) a room we do not participate in, through `server`. */
  leaveThrough(userId: string, roomId: string, server: string, content: JsonObject): Promise<void>;
  /** Knocks on a room we do not participate in, through the first of `servers` that lets us. */
  knock(userId: string, roomId: string, servers: readonly string[], content: JsonObject): Promise<void>;
}

/** Who is asking, as the accounts layer authenticated them. */
export interface RoomRequester {
  readonly userId: string;
  readonly deviceId: string;
  /** A guest account (client-server-api § Guest access); absent for everyone else. */
  readonly isGuest?: boolean;
  /** The application service whose as_token authenticated the request, if any. */
  readonly appservice?: AppserviceRegistration;
}

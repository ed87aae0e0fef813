/** Everything the client-facing application service use-cases depend on; built once by the composition root. */
import type { AppserviceRegistration } from '../../appservices/index.ts';
import type { Clock } from '../../ports/accounts.ts';
import type { AppserviceClient } from '../../ports/appservices.ts';
import type { RoomDirectory } from '../../ports/rooms.ts';

export interface AppservicesContext {
  readonly serverName: string;
  /** The bridges of `app_service_config_files`, in the order the config lists them. */
  readonly registrations: readonly AppserviceRegistration[];
  readonly client: AppserviceClient;
  /** Where bridges publish rooms in their networks' lists. */
  readonly directory: Pick<RoomDirectory, 'setNetworkVisibility'>;
  /** Milliseconds: the ping's duration and how long protocol answers are kept. */
  readonly clock: Clock;
  /** A bridge answered a ping: the appservice sender ends its backoff and sends what waits (Synapse's force_retry). */
  readonly onReachable?: (appserviceId: string) => void;
}

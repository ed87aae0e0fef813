/** `GET /capabilities` (client-server-api § Capabilities negotiation, capabilities.yaml). */
import type { JsonObject } from '../../json.ts';

export interface CapabilitiesOptions {
  /** The room version new rooms get; "12" as rooms/_index.md recommends. */
  readonly defaultRoomVersion?: string;
  /** Room versions this server supports, all stable (1–12 by default). */
  readonly roomVersions?: readonly string[];
}

const ALL_ROOM_VERSIONS = Array.from({ length: 12 }, (_, i) => String(i + 1));

export const capabilities = (options: CapabilitiesOptions = {}): JsonObject => ({
  capabilities: {
    'm.change_password': { enabled: true },
    'm.room_versions': {
      default: options.defaultRoomVersion ?? '12',
      available: Object.fromEntries((options.roomVersions ?? ALL_ROOM_VERSIONS).map((version) => [version, 'stable'])),
    },
    'm.set_displayname': { enabled: true },
    'm.set_avatar_url': { enabled: true },
    'm.3pid_changes': { enabled: false },
  },
});

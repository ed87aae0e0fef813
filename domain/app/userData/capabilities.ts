/**
 * `GET /capabilities` (client-server-api § Capabilities negotiation, capabilities.yaml). Every
 * capability the spec defines is answered explicitly, so clients need not guess defaults.
 */
import type { JsonObject } from '../../json.ts';

export interface CapabilitiesOptions {
  /** The room version new rooms get; "12" as rooms/_index.md recommends. */
  readonly defaultRoomVersion?: string;
  /** Room versions this server supports, all stable (1–12 by default). */
  readonly roomVersions?: readonly string[];
  /** Whether users can add and remove 3PIDs (email validation is configured); false by default. */
  readonly threePidChanges?: boolean;
}

/** Who asks: the answer depends on it for `m.account_moderation`. */
export interface CapabilitiesViewer {
  readonly isAdmin?: boolean;
}

const ALL_ROOM_VERSIONS = Array.from({ length: 12 }, (_, i) => String(i + 1));

export const capabilities = (options: CapabilitiesOptions = {}, viewer: CapabilitiesViewer = {}): JsonObject => ({
  capabilities: {
    'm.change_password': { enabled: true },
    'm.room_versions': {
      default: options.defaultRoomVersion ?? '12',
      available: Object.fromEntries((options.roomVersions ?? ALL_ROOM_VERSIONS).map((version) => [version, 'stable'])),
    },
    // Deprecated since v1.16 in favour of `m.profile_fields`, which also covers both keys; kept in step with it.
    'm.set_displayname': { enabled: true },
    'm.set_avatar_url': { enabled: true },
    'm.3pid_changes': { enabled: options.threePidChanges ?? false },
    // No `POST /login/get_token` here.
    'm.get_login_token': { enabled: false },
    // Since v1.16: any profile key may be set (no allowed/disallowed lists).
    'm.profile_fields': { enabled: true },
    // Since v1.18: leaving a room does not forget it.
    'm.forget_forced_upon_leave': { enabled: false },
    // Since v1.18: "omitted altogether if `suspend` and `lock` would be `false`"; admins may do both.
    ...(viewer.isAdmin === true ? { 'm.account_moderation': { suspend: true, lock: true } } : {}),
  },
});

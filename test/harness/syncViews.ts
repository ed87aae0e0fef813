/** Readers for the parts of a /sync response tests look at (sync.yaml), empty when a section is absent. */
import type { Body } from './client.ts';

export type TimelineEvent = Body;
type RoomSection = 'join' | 'leave';

export const timelineOf = (sync: Body, roomId: string, section: RoomSection = 'join'): TimelineEvent[] =>
  (sync.rooms?.[section]?.[roomId]?.timeline?.events as TimelineEvent[] | undefined) ?? [];

export const ephemeralOf = (sync: Body, roomId: string): Body[] =>
  (sync.rooms?.join?.[roomId]?.ephemeral?.events as Body[] | undefined) ?? [];

/** The stripped state of an invite (`rooms.invite[roomId].invite_state.events`), or undefined. */
export const inviteStateOf = (sync: Body, roomId: string): Body[] | undefined =>
  sync.rooms?.invite?.[roomId]?.invite_state?.events as Body[] | undefined;

/** Bodies of the m.room.message events among `events`, in order. */
export const messageBodies = (events: readonly Body[]): string[] =>
  events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);

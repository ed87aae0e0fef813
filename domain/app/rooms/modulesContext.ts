/** What the room modules beyond the core (relations, threads, user directory, reports…) depend on. */
import type { ContentReports, RelationsReadModel, UserDirectoryReadModel } from '../../ports/rooms.ts';
import type { RoomsContext } from './context.ts';

export interface RoomModulesContext extends RoomsContext {
  readonly relations: RelationsReadModel;
  readonly userDirectory: UserDirectoryReadModel;
  readonly reports: ContentReports;
}

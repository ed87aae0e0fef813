/**
 * Who may create or delete a local alias, as far as application services go (application-service-api.md
 * § Server admin style permissions): a bridge only in its alias namespace, and nobody else in a
 * namespace a bridge declared exclusive. Messages as Synapse's (DirectoryHandler).
 */
import { isInterestedInAlias } from '../../appservices/index.ts';
import { MatrixError } from '../../errors.ts';
import type { RoomRequester, RoomsContext } from './context.ts';

/**
 * Refuses with 400 M_EXCLUSIVE an alias the requester may not manage: outside the namespace of
 * the bridge it acts for, or (for anyone else) in a bridge's exclusive namespace, unless it is
 * that bridge's sender (Synapse's `can_modify_alias`).
 */
export const ensureMayManageAlias = (ctx: RoomsContext, requester: RoomRequester, alias: string): void => {
  if (requester.appservice !== undefined) {
    if (!isInterestedInAlias(requester.appservice, alias)) {
      throw new MatrixError('M_EXCLUSIVE', 400, 'This application service has not reserved this kind of alias.');
    }
    return;
  }
  for (const appservice of ctx.appservices ?? []) {
    if (!isInterestedInAlias(appservice, alias)) continue;
    if (requester.userId === appservice.sender) return;
    if (appservice.namespaces.aliases.some((namespace) => namespace.exclusive && namespace.regex.test(alias))) {
      throw new MatrixError('M_EXCLUSIVE', 400, 'This alias is reserved by an application service.');
    }
  }
};

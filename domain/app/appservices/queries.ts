/**
 * Asking bridges about ids nobody here knows (application-service-api.md § Querying): an alias of
 * this server in a bridge's alias namespace (`GET /_matrix/app/v1/rooms/{roomAlias}`), a user of
 * this server in a bridge's user namespace (`GET /_matrix/app/v1/users/{userId}`). A bridge that
 * answers 2xx has created the room and alias, or the user, through the client API meanwhile, so
 * the caller looks the id up again. Bridges are asked in the config's order until one says yes, as
 * Synapse's query_room_alias_exists / query_user_exists do.
 */
import { isInterestedInAlias, isInterestedInUser, type AppserviceRegistration } from '../../appservices/index.ts';
import { BoundedMap } from '../../boundedMap.ts';
import type { AppservicesContext } from './context.ts';

/** What the room and account use-cases ask when an id of this server is unknown. */
export interface AppserviceQueries {
  /** True when a bridge whose namespace holds this server's alias has just created it. */
  queryAlias(alias: string): Promise<boolean>;
  /** True when a bridge whose namespace holds this server's user has just created them. */
  queryUser(userId: string): Promise<boolean>;
}

/** Concurrent queries for one id share one round of questions; past this many ids in flight they do not. */
const SHARED_QUERIES = 10_000;

const onThisServer = (id: string, serverName: string): boolean => id.endsWith(`:${serverName}`);

export const createAppserviceQueries = (ctx: AppservicesContext): AppserviceQueries => {
  const inFlight = new BoundedMap<string, Promise<boolean>>(SHARED_QUERIES);

  const ask = (
    key: string, bridges: readonly AppserviceRegistration[], question: (registration: AppserviceRegistration) => Promise<boolean>,
  ): Promise<boolean> => {
    if (bridges.length === 0) return Promise.resolve(false);
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const asked = (async () => {
      for (const registration of bridges) if (await question(registration).catch(() => false)) return true;
      return false;
    })().finally(() => {
      if (inFlight.get(key) === asked) inFlight.delete(key);
    });
    inFlight.set(key, asked);
    return asked;
  };

  return {
    queryAlias(alias) {
      if (!alias.startsWith('#') || !onThisServer(alias, ctx.serverName)) return Promise.resolve(false);
      const bridges = ctx.registrations.filter((registration) => registration.url !== null && isInterestedInAlias(registration, alias));
      return ask(`alias ${alias}`, bridges, (registration) => ctx.client.queryAlias(registration, alias));
    },
    queryUser(userId) {
      if (!userId.startsWith('@') || !onThisServer(userId, ctx.serverName)) return Promise.resolve(false);
      // A bridge's own user is known to exist (Synapse's _is_unknown_user), it is never asked about.
      if (ctx.registrations.some((registration) => registration.sender === userId)) return Promise.resolve(false);
      const bridges = ctx.registrations.filter((registration) => registration.url !== null && isInterestedInUser(registration, userId));
      return ask(`user ${userId}`, bridges, (registration) => ctx.client.queryUser(registration, userId));
    },
  };
};

/**
 * An alias of the directory, or, when nobody here created it, the room a bridge whose namespace
 * holds it has just created for it (Synapse's get_association_from_room_alias).
 */
export const resolveAliasAskingBridges = async <Found>(
  directory: { resolveAlias(alias: string): Promise<Found | undefined> }, queries: AppserviceQueries | undefined, alias: string,
): Promise<Found | undefined> => {
  const found = await directory.resolveAlias(alias);
  if (found !== undefined || queries === undefined) return found;
  return (await queries.queryAlias(alias)) ? directory.resolveAlias(alias) : undefined;
};

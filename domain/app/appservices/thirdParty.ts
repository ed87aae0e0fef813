/**
 * Third-party networks (third_party_lookup.yaml), answered by the bridges that declare a protocol
 * in their registration (`protocols`), as Synapse answers them:
 * - a protocol's metadata is the first bridge's answer, with the `instances` of every bridge of
 *   the protocol, each instance given its `instance_id` (the `third_party_instance_id` that lists
 *   its network's rooms in /publicRooms); a protocol no bridge describes is unknown;
 * - locations and users are what every bridge of the protocol finds, merged; the reverse lookups
 *   (by `alias`, by `userid`) ask every bridge;
 * - what a bridge answers out of shape is left out, and a bridge that fails adds nothing.
 */
import { bridgesOfProtocol, thirdPartyInstanceId, type AppserviceRegistration } from '../../appservices/index.ts';
import { BoundedMap } from '../../boundedMap.ts';
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { AppservicesContext } from './context.ts';

export type ThirdPartyKind = 'location' | 'user';

/** Synapse keeps a bridge's protocol answer an hour (ApplicationServiceApi.protocol_meta_cache). */
const PROTOCOL_ANSWER_MS = 60 * 60 * 1000;
/** A bridge that did not answer is asked again after a minute rather than at every request. */
const FAILED_PROTOCOL_ANSWER_MS = 60 * 1000;
/** Keys are (bridge, declared protocol) pairs, so the configuration bounds them; this is a backstop. */
const PROTOCOL_CACHE_ENTRIES = 10_000;

/** The field a match must name: a location's alias, a user's user id. */
const IDENTIFYING_FIELD: Readonly<Record<ThirdPartyKind, string>> = { location: 'alias', user: 'userid' };

/** A bridge's protocol answer as Synapse keeps it: with `instances` a list, each instance with a network given its instance_id. */
export const withInstanceIds = (appserviceId: string, info: JsonObject | undefined): JsonObject | undefined => {
  if (info === undefined || !Array.isArray(info.instances)) return undefined;
  const instances = info.instances.map((instance) => (isJsonObject(instance) && typeof instance.network_id === 'string'
    ? { ...instance, instance_id: thirdPartyInstanceId(appserviceId, instance.network_id) }
    : instance));
  return { ...info, instances };
};

/** The protocol as clients see it: the first answer's fields, every answer's instances. */
export const mergeProtocolAnswers = (answers: readonly JsonObject[]): JsonObject | undefined => {
  const [first, ...rest] = answers;
  if (first === undefined) return undefined;
  const instances = [...(first.instances as JsonObject[])];
  for (const answer of rest) instances.push(...(answer.instances as JsonObject[]));
  return { ...first, instances };
};

/** A location or user in the shape the spec gives it (Synapse's `_is_valid_3pe_result`). */
export const isThirdPartyMatch = (kind: ThirdPartyKind, match: JsonObject): boolean =>
  typeof match[IDENTIFYING_FIELD[kind]] === 'string' && typeof match.protocol === 'string' && isJsonObject(match.fields);

export interface ThirdPartyNetworks {
  /** `GET /thirdparty/protocols`: every protocol some bridge describes. */
  protocols(): Promise<JsonObject>;
  /** `GET /thirdparty/protocol/{protocol}`: 404 M_NOT_FOUND when no bridge describes it. */
  protocol(protocol: string): Promise<JsonObject>;
  /**
   * `GET /thirdparty/{location,user}[/{protocol}]`: with a protocol, its bridges' matches for
   * `fields`; without, every bridge's matches for the alias or user id `fields` names.
   */
  lookup(kind: ThirdPartyKind, protocol: string | undefined, fields: Readonly<Record<string, string>>): Promise<JsonObject[]>;
}

export const createThirdPartyNetworks = (ctx: AppservicesContext): ThirdPartyNetworks => {
  const answers = new BoundedMap<string, { readonly answer: Promise<JsonObject | undefined>; expiresAt: number }>(PROTOCOL_CACHE_ENTRIES);

  /** One bridge's description of a protocol; concurrent requests share one call, answers are kept a while. */
  const protocolOf = (registration: AppserviceRegistration, protocol: string): Promise<JsonObject | undefined> => {
    const key = JSON.stringify([registration.id, protocol]);
    const now = ctx.clock.now();
    const kept = answers.get(key);
    if (kept !== undefined && kept.expiresAt > now) return kept.answer;
    const entry = {
      answer: ctx.client.thirdPartyProtocol(registration, protocol).then((info) => withInstanceIds(registration.id, info), () => undefined),
      // Until it settles, the call in flight is shared.
      expiresAt: Number.POSITIVE_INFINITY,
    };
    answers.set(key, entry);
    void entry.answer.then((info) => {
      entry.expiresAt = ctx.clock.now() + (info === undefined ? FAILED_PROTOCOL_ANSWER_MS : PROTOCOL_ANSWER_MS);
    });
    return entry.answer;
  };

  const describe = async (protocol: string): Promise<JsonObject | undefined> => {
    const bridges = bridgesOfProtocol(ctx.registrations, protocol).filter((registration) => registration.url !== null);
    const found = await Promise.all(bridges.map((registration) => protocolOf(registration, protocol)));
    return mergeProtocolAnswers(found.filter((info) => info !== undefined));
  };

  return {
    async protocols() {
      const declared = [...new Set(ctx.registrations.flatMap((registration) => registration.protocols))];
      const described = await Promise.all(declared.map(async (protocol) => [protocol, await describe(protocol)] as const));
      const result: JsonObject = {};
      for (const [protocol, info] of described) if (info !== undefined) result[protocol] = info;
      return result;
    },
    async protocol(protocol) {
      const info = await describe(protocol);
      if (info === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'Unknown protocol');
      return info;
    },
    async lookup(kind, protocol, fields) {
      let bridges: AppserviceRegistration[];
      if (protocol === undefined) {
        // A reverse lookup names what it looks up; without it there is nothing to ask.
        if (fields[IDENTIFYING_FIELD[kind]] === undefined) return [];
        bridges = [...ctx.registrations];
      } else {
        bridges = bridgesOfProtocol(ctx.registrations, protocol);
      }
      const found = await Promise.all(bridges.filter((registration) => registration.url !== null)
        .map((registration) => ctx.client.thirdPartyLookup(registration, kind, protocol, fields).catch(() => [])));
      return found.flat().filter((match) => isThirdPartyMatch(kind, match));
    },
  };
};

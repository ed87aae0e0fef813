/**
 * Bundled aggregations (client-server-api § Aggregations of child events): `unsigned.m.relations`
 * on events served to a client, computed for a whole page in one batch (RelationsReadModel
 * .aggregations) after a probe for the events that have children at all, plus one more batch for
 * the thread `latest_event`s, whose own children are aggregated too (threading.md § Server-side aggregation of m.thread relationships).
 * Children sent by users the viewer ignores are left out, as Synapse does: a thread's `count` and
 * `latest_event` skip their replies (a thread of only such replies gets no summary) and
 * `m.reference` their references; `current_user_participated` is the viewer's own.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { AggregationRange, RelationAggregation, RelationParent, VisibleRange } from '../../ports/rooms.ts';
import { clientEvent, type Viewer } from './clientEvent.ts';
import { ignoredBy } from './ignoring.ts';
import type { RoomModulesContext } from './modulesContext.ts';

/**
 * What the aggregation needs to know of a formatted ClientEvent; undefined for events that get no
 * aggregations. As Synapse: state events, edits and reactions get none (an edit of an edit is
 * invalid, event_replacements.md); an event that relates to another cannot be a thread root
 * (threading.md); edits of a redacted event are not bundled.
 */
const parentOf = (event: JsonObject): RelationParent | undefined => {
  if (typeof event.event_id !== 'string' || typeof event.sender !== 'string' || typeof event.type !== 'string') return undefined;
  if (event.state_key !== undefined) return undefined;
  const content = isJsonObject(event.content) ? event.content : {};
  const relation = isJsonObject(content['m.relates_to']) ? content['m.relates_to'] : {};
  const relType = typeof relation.rel_type === 'string' && typeof relation.event_id === 'string' ? relation.rel_type : undefined;
  if (relType === 'm.replace' || relType === 'm.annotation') return undefined;
  const redacted = isJsonObject(event.unsigned) && event.unsigned.redacted_because !== undefined;
  return { eventId: event.event_id, sender: event.sender, type: event.type, editable: !redacted, threadable: relType === undefined };
};

const relationsObject = (
  aggregation: RelationAggregation, viewer: Viewer, now: number, nested: ReadonlyMap<string, RelationAggregation>,
): JsonObject => {
  const relations: JsonObject = {};
  if (aggregation.thread !== undefined) {
    const latest = clientEvent(aggregation.thread.latest, viewer, now);
    const inner = nested.get(aggregation.thread.latest.eventId);
    if (inner !== undefined) attach(latest, relationsObject(inner, viewer, now, new Map()));
    relations['m.thread'] = { latest_event: latest, count: aggregation.thread.count, current_user_participated: aggregation.thread.participated };
  }
  if (aggregation.replace !== undefined) relations['m.replace'] = clientEvent(aggregation.replace, viewer, now);
  if (aggregation.references !== undefined) relations['m.reference'] = { chunk: aggregation.references.map((eventId) => ({ event_id: eventId })) };
  return relations;
};

const attach = (event: JsonObject, relations: JsonObject): void => {
  if (Object.keys(relations).length === 0) return;
  const unsigned = isJsonObject(event.unsigned) ? event.unsigned : {};
  event.unsigned = { ...unsigned, 'm.relations': relations };
};

/**
 * Whether an event has any bundled child, per event id, when the read that loaded the events
 * probed it already (StoredEvent.hasChildren): those events are not probed again.
 */
export type KnownChildren = ReadonlyMap<string, boolean>;

/** The parents among `candidates` with any bundled child (one probe for those not `known`), deduplicated. */
const withChildren = async (
  ctx: RoomModulesContext, roomId: string, candidates: readonly RelationParent[], known?: KnownChildren,
): Promise<RelationParent[]> => {
  if (candidates.length === 0) return [];
  const unique = [...new Map(candidates.map((parent) => [parent.eventId, parent])).values()];
  const unknown = unique.filter((parent) => known?.get(parent.eventId) === undefined).map((parent) => parent.eventId);
  const found = unknown.length === 0 ? new Set<string>() : await ctx.relations.parentsWithChildren(roomId, unknown);
  return unique.filter((parent) => known?.get(parent.eventId) ?? found.has(parent.eventId));
};

/**
 * Adds `unsigned.m.relations` to the events (in place) of one room as `viewer` may see them.
 * Events of other rooms or without children are left as they are. The common page, whose events
 * have no children, costs one probe, or none when `known` covers it: `range` is asked for only
 * when some event has a child.
 */
export const bundleAggregations = async (
  ctx: RoomModulesContext, viewer: Viewer, roomId: string, events: readonly JsonObject[],
  range: VisibleRange | (() => Promise<VisibleRange>), known?: KnownChildren,
): Promise<void> => {
  const parents = await withChildren(ctx, roomId, events.filter((event) => event.room_id === undefined || event.room_id === roomId)
    .map(parentOf).filter((parent): parent is RelationParent => parent !== undefined), known);
  if (parents.length === 0) return;
  // Read only once some event has children: the common page costs no account data read.
  const [visible, ignored] = await Promise.all([typeof range === 'function' ? range() : range, ignoredBy(ctx.preferences, viewer.userId)]);
  const counted: AggregationRange = ignored.size === 0 ? visible : { ...visible, ignoredSenders: [...ignored] };
  const aggregations = await ctx.relations.aggregations(roomId, parents, viewer.userId, counted);
  if (aggregations.size === 0) return;
  const latest = await withChildren(ctx, roomId, [...aggregations.values()]
    .flatMap((a) => (a.thread === undefined ? [] : [clientEvent(a.thread.latest, viewer, 0)]))
    .map(parentOf).filter((parent): parent is RelationParent => parent !== undefined));
  const nested = latest.length === 0 ? new Map<string, RelationAggregation>() : await ctx.relations.aggregations(roomId, latest, viewer.userId, counted);
  const now = ctx.clock.now();
  for (const event of events) {
    const aggregation = typeof event.event_id === 'string' ? aggregations.get(event.event_id) : undefined;
    if (aggregation !== undefined) attach(event, relationsObject(aggregation, viewer, now, nested));
  }
};

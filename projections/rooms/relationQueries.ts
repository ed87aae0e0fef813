/**
 * Event relationships over room_events (domain/ports/rooms.ts RelationsReadModel): a relation is
 * any event whose content has `m.relates_to` with both `rel_type` and `event_id`
 * (client-server-api § Forming relationships between events). Redaction strips `m.relates_to`
 * from content, so a redacted child drops out of every query by itself. The expression indexes
 * below make the parent lookups index scans; ensureRelationIndexes creates them.
 */
import type { SqlExecutor, SqlParam } from '../../domain/index.ts';
import type {
  RelationAggregation, RelationsReadModel, StoredEvent, VisibleRange,
} from '../../domain/app/rooms/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';

const target = (alias = ''): string => `(${alias}pdu->'content'->'m.relates_to'->>'event_id')`;
const relType = (alias = ''): string => `(${alias}pdu->'content'->'m.relates_to'->>'rel_type')`;

export const RELATION_INDEXES: readonly string[] = [
  `CREATE INDEX IF NOT EXISTS room_events_relates_to ON room_events (${target()}, log_offset) WHERE ${relType()} IS NOT NULL`,
  `CREATE INDEX IF NOT EXISTS room_events_threads ON room_events (room_id, log_offset) WHERE ${relType()} = 'm.thread'`,
];

/** Idempotent; run after the rooms projection created room_events. */
export const ensureRelationIndexes = async (db: SqlExecutor): Promise<void> => {
  for (const statement of RELATION_INDEXES) await db.query(statement);
};

/**
 * Conditions keeping `alias` rows to timeline events (never outliers: auth chains, soft-failed
 * events) inside the requester's visible ranges.
 */
const rangeConditions = (range: VisibleRange, values: SqlParam[], alias = ''): string[] => {
  const ranges = range.visible;
  const timeline = `NOT ${alias}outlier`;
  if (ranges === undefined) return [timeline];
  if (ranges.length === 0) return ['false'];
  const column = `${alias}log_offset`;
  values.push(ranges[0]!.from, ranges[ranges.length - 1]!.to);
  const where = [timeline, `${column} >= $${values.length - 1}`, `${column} < $${values.length}`];
  if (ranges.length === 1) return where;
  values.push(ranges.map((r) => r.from), ranges.map((r) => r.to));
  where.push(`EXISTS (SELECT 1 FROM unnest($${values.length - 1}::bigint[], $${values.length}::bigint[]) AS v(lo, hi)
    WHERE ${column} >= v.lo AND ${column} < v.hi)`);
  return where;
};

/** The bundled children (m.thread, m.replace, m.reference; reactions never are) of `parent` in `room`, SQL expressions. */
const childrenOf = (parent: string, room: string): string =>
  `FROM room_events c WHERE ${target('c.')} = ${parent} AND ${relType('c.')} IS NOT NULL
    AND ${relType('c.')} IN ('m.thread', 'm.replace', 'm.reference') AND c.room_id = ${room} AND NOT c.outlier`;

/**
 * Whether the event `parent` has a child that may be bundled, as a boolean column of another read
 * (queries.ts `messages` folds it into the timeline's statement): one relates_to index probe per
 * row, stopping at the first child (a busy thread root has many). A scalar subquery with LIMIT,
 * not EXISTS: the planner may turn an EXISTS into one hash of every child in the table.
 */
export const hasChildrenColumn = (parent: string, room: string): string =>
  `COALESCE((SELECT true ${childrenOf(parent, room)} LIMIT 1), false)`;

const and = (conditions: readonly string[]): string => conditions.map((c) => ` AND ${c}`).join('');

/**
 * Conditions leaving out `alias`'s rows sent by the senders the viewer ignores, state events
 * excepted (ignore_users.md: "Servers must still send state events sent by ignored users").
 */
const ignoredConditions = (range: { readonly ignoredSenders?: readonly string[] }, values: SqlParam[], alias = ''): string[] => {
  const ignored = range.ignoredSenders;
  if (ignored === undefined || ignored.length === 0) return [];
  values.push([...ignored]);
  return [`(${alias}sender <> ALL($${values.length}::text[]) OR ${alias}state_key IS NOT NULL)`];
};

export const createRelationQueries = (db: SqlExecutor): RelationsReadModel => {
  const eventsById = async (ids: readonly string[]): Promise<Map<string, StoredEvent>> => {
    if (ids.length === 0) return new Map();
    const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1::text[])`, [[...ids]]);
    return new Map((await hydrate(db, rows)).map((event) => [event.eventId, event]));
  };

  return {
    async relations(roomId, eventId, query) {
      // Children up to `depth` levels down, then filtered and paginated as one list (Synapse does the same).
      const values: SqlParam[] = [roomId, eventId, query.depth];
      const where = [`event_id IN (SELECT event_id FROM related)`];
      if (query.relType !== undefined) {
        values.push(query.relType);
        where.push(`${relType()} = $${values.length}`);
      }
      if (query.eventType !== undefined) {
        values.push(query.eventType);
        where.push(`type = $${values.length}`);
      }
      if (query.from !== undefined) {
        values.push(query.from);
        where.push(query.dir === 'b' ? `log_offset < $${values.length}` : `log_offset >= $${values.length}`);
      }
      if (query.to !== undefined) {
        values.push(query.to);
        where.push(query.dir === 'b' ? `log_offset >= $${values.length}` : `log_offset < $${values.length}`);
      }
      where.push(...rangeConditions(query, values));
      values.push(query.limit);
      const { rows } = await db.query<EventRow>(
        `WITH RECURSIVE related(event_id, depth) AS (
           SELECT event_id, 1 FROM room_events WHERE room_id = $1 AND ${target()} = $2 AND ${relType()} IS NOT NULL
           UNION
           SELECT e.event_id, r.depth + 1 FROM related r JOIN room_events e
             ON ${target('e.')} = r.event_id AND ${relType('e.')} IS NOT NULL AND e.room_id = $1
           WHERE r.depth < $3)
         SELECT ${EVENT_COLUMNS} FROM room_events WHERE ${where.join(' AND ')}
         ORDER BY log_offset ${query.dir === 'b' ? 'DESC' : 'ASC'} LIMIT $${values.length}`,
        values);
      return hydrate(db, rows);
    },

    async aggregations(roomId, parents, viewer, range) {
      const result = new Map<string, { -readonly [K in keyof RelationAggregation]: RelationAggregation[K] }>();
      if (parents.length === 0) return result;
      const entry = (id: string) => {
        let value = result.get(id);
        if (value === undefined) result.set(id, (value = {}));
        return value;
      };
      // Threads, edits and references in one statement (a UNION ALL of one branch per kind), with
      // the thread latest events and edits joined in full: one round trip per batch.
      const values: SqlParam[] = [roomId];
      const param = (value: SqlParam): string => `$${values.push(value)}`;
      const branches: string[] = [];

      const roots = parents.filter((p) => p.threadable).map((p) => p.eventId);
      if (roots.length > 0) {
        const [ids, user] = [param(roots), param(viewer)];
        branches.push(`SELECT 'thread' AS kind, root AS parent, event_id AS child, n, participated, NULL::text[] AS children FROM (
           SELECT DISTINCT ON (root) root, event_id, count(*) OVER w AS n, bool_or(sender = ${user}) OVER w AS participated
           FROM (SELECT ${target()} AS root, event_id, sender, log_offset FROM room_events
                 WHERE room_id = $1 AND ${relType()} = 'm.thread' AND ${target()} = ANY(${ids}::text[])${and(rangeConditions(range, values))}${
                   and(ignoredConditions(range, values))}) AS t
           WINDOW w AS (PARTITION BY root)
           ORDER BY root, log_offset DESC) AS threads`);
      }

      // Edits are valid only from the original's sender, with its type, with m.new_content
      // (event_replacements.md § Validity); encrypted edits keep m.new_content in the ciphertext.
      const editable = parents.filter((p) => p.editable);
      if (editable.length > 0) {
        const [ids, senders, types] = [param(editable.map((p) => p.eventId)), param(editable.map((p) => p.sender)), param(editable.map((p) => p.type))];
        branches.push(`SELECT 'replace' AS kind, parent, event_id AS child, NULL::bigint AS n, NULL::boolean AS participated, NULL::text[] AS children FROM (
           SELECT DISTINCT ON (p.id) p.id AS parent, c.event_id
           FROM unnest(${ids}::text[], ${senders}::text[], ${types}::text[]) AS p(id, sender, type)
           JOIN room_events c ON ${target('c.')} = p.id AND ${relType('c.')} = 'm.replace' AND c.room_id = $1
             AND c.sender = p.sender AND c.type = p.type AND c.state_key IS NULL
             AND (c.type = 'm.room.encrypted' OR jsonb_typeof(c.pdu->'content'->'m.new_content') = 'object')${and(rangeConditions(range, values, 'c.'))}
           ORDER BY p.id, c.origin_server_ts DESC, c.event_id DESC) AS edits`);
      }

      const referenced = param(parents.map((p) => p.eventId));
      branches.push(`SELECT 'reference' AS kind, ${target()} AS parent, NULL::text AS child, NULL::bigint AS n, NULL::boolean AS participated,
           array_agg(event_id ORDER BY log_offset) AS children FROM room_events
         WHERE room_id = $1 AND ${relType()} = 'm.reference' AND ${target()} = ANY(${referenced}::text[])${and(rangeConditions(range, values))}${
           and(ignoredConditions(range, values))}
         GROUP BY 2`);

      const { rows } = await db.query<Partial<EventRow> & {
        kind: 'thread' | 'replace' | 'reference'; parent: string; n: number | string | null; participated: boolean | null; children: string[] | null;
      }>(
        `SELECT a.kind, a.parent, a.n, a.participated, a.children, ${EVENT_COLUMNS.split(',').map((column) => `e.${column.trim()}`).join(', ')}
         FROM (${branches.map((branch) => `(${branch})`).join(' UNION ALL ')}) AS a
         LEFT JOIN room_events e ON e.event_id = a.child`,
        values);
      const full = new Map((await hydrate(db, rows.filter((row): row is typeof row & EventRow => typeof row.event_id === 'string')))
        .map((event) => [event.eventId, event]));
      const senders = new Map(parents.map((p) => [p.eventId, p.sender]));
      for (const row of rows) {
        const child = row.event_id === undefined || row.event_id === null ? undefined : full.get(row.event_id);
        if (row.kind === 'thread' && child !== undefined) {
          // "current_user_participated": the user sent the root or a reply in the thread.
          entry(row.parent).thread = { latest: child, count: Number(row.n), participated: row.participated === true || senders.get(row.parent) === viewer };
        } else if (row.kind === 'replace' && child !== undefined) {
          entry(row.parent).replace = child;
        } else if (row.kind === 'reference' && row.children !== null) {
          entry(row.parent).references = row.children;
        }
      }
      return result;
    },

    async parentsWithChildren(roomId, eventIds) {
      if (eventIds.length === 0) return new Set();
      const { rows } = await db.query<{ parent: string }>(
        `SELECT p.id AS parent FROM unnest($2::text[]) AS p(id) WHERE ${hasChildrenColumn('p.id', '$1')}`, [roomId, [...eventIds]]);
      return new Set(rows.map((row) => row.parent));
    },

    async threads(roomId, query) {
      const values: SqlParam[] = [roomId];
      const inner = and(rangeConditions(query, values));
      const outer: string[] = rangeConditions(query, values, 'e.');
      if (query.before !== undefined) {
        values.push(query.before);
        outer.push(`t.latest < $${values.length}`);
      }
      if (query.participant !== undefined) {
        values.push(query.participant);
        const p = `$${values.length}`;
        outer.push(`(e.sender = ${p} OR EXISTS (SELECT 1 FROM room_events r WHERE r.room_id = $1 AND ${relType('r.')} = 'm.thread'
          AND ${target('r.')} = t.root AND r.sender = ${p} AND NOT r.outlier))`);
      }
      values.push(query.limit);
      const { rows } = await db.query<{ root: string; latest: number | string }>(
        `WITH t AS (
           SELECT ${target()} AS root, max(log_offset) AS latest FROM room_events
           WHERE room_id = $1 AND ${relType()} = 'm.thread'${inner} GROUP BY 1)
         SELECT t.root, t.latest FROM t JOIN room_events e ON e.event_id = t.root AND e.room_id = $1
         WHERE true${and(outer)}
         ORDER BY t.latest DESC LIMIT $${values.length}`,
        values);
      const roots = await eventsById(rows.map((row) => row.root));
      return rows.flatMap((row) => {
        const root = roots.get(row.root);
        return root === undefined ? [] : [{ root, latestOffset: Number(row.latest) }];
      });
    },

    async eventAtTime(roomId, ts, dir, range) {
      const values: SqlParam[] = [roomId, ts];
      const where = rangeConditions(range, values);
      const order = dir === 'f' ? 'ASC' : 'DESC';
      const { rows } = await db.query<{ event_id: string; origin_server_ts: number | string }>(
        `SELECT event_id, origin_server_ts FROM room_events
         WHERE room_id = $1 AND origin_server_ts ${dir === 'f' ? '>=' : '<='} $2${and(where)}
         ORDER BY origin_server_ts ${order}, log_offset ${order} LIMIT 1`,
        values);
      const row = rows[0];
      return row === undefined ? undefined : { eventId: row.event_id, originServerTs: Number(row.origin_server_ts) };
    },
  };
};

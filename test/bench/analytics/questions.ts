/**
 * Five questions an analyst asks, each as ClickHouse answers it (from the rollups the warehouse
 * keeps, as the analyst API reads them: a rollup's sets merged per full key, then summed over the
 * dimensions the question drops, since distinct keys hold disjoint sets) and as the PostgreSQL
 * timeline (`room_events` of the rooms projection, with the indexes a server creates) answers it.
 * Both answers are reduced to `key → value` so the bench can check they agree.
 */

export interface Answer {
  readonly key: string;
  readonly value: number;
}

export interface Question {
  readonly name: string;
  /** ClickHouse statements (each answering rows of `k`, `v`), run one after another. */
  readonly clickhouse: readonly string[];
  /** PostgreSQL statements with their parameters, likewise. */
  readonly postgres: readonly { readonly text: string; readonly values: readonly (string | number)[] }[];
  /**
   * Reduces both answers to what they must agree on; by default every row. Redaction empties a
   * PostgreSQL row's content (its msgtype) while the warehouse keeps the metadata it had.
   */
  readonly comparable?: (answers: readonly Answer[]) => readonly Answer[];
}

export interface QuestionScope {
  /** The corpus's last event time: "last 30 days" ends there. */
  readonly endMs: number;
  /** The room asked about in detail (the largest). */
  readonly roomId: string;
}

const DAY_MS = 86_400_000;
const chString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const EVENT_KIND = 'status, event_type, msgtype, has_state_key, origin';
const utc = (column = 'origin_server_ts') => `to_timestamp(${column} / 1000.0) AT TIME ZONE 'UTC'`;

/** Per-server totals: what survives redaction on both sides. */
const perServer = (answers: readonly Answer[]): Answer[] => {
  const totals = new Map<string, number>();
  for (const { key, value } of answers) {
    const server = key.slice(0, key.indexOf(' '));
    totals.set(server, (totals.get(server) ?? 0) + value);
  }
  return [...totals].map(([key, value]) => ({ key, value }));
};

export const analystQuestions = (scope: QuestionScope): Question[] => {
  const since = new Date(Math.floor((scope.endMs - 30 * DAY_MS) / DAY_MS) * DAY_MS);
  const sinceDay = since.toISOString().slice(0, 10);
  return [
    {
      name: 'messages per day, whole range',
      clickhouse: [`SELECT toString(day) AS k, sum(n) AS v FROM (
          SELECT day, room_id, ${EVENT_KIND}, uniqExactMerge(events) AS n FROM analytics_room_daily
          WHERE status = 'accepted' AND event_type = 'm.room.message' GROUP BY day, room_id, ${EVENT_KIND})
        GROUP BY day ORDER BY day`],
      postgres: [{
        text: `SELECT to_char(${utc()}, 'YYYY-MM-DD') AS k, count(*) AS v FROM room_events
               WHERE type = 'm.room.message' AND NOT outlier GROUP BY k ORDER BY k`,
        values: [],
      }],
    },
    {
      name: 'top 10 rooms, last 30 days',
      clickhouse: [`SELECT room_id AS k, sum(n) AS v FROM (
          SELECT room_id, day, ${EVENT_KIND}, uniqExactMerge(events) AS n FROM analytics_room_daily
          WHERE day >= toDate(${chString(sinceDay)}) AND status = 'accepted' GROUP BY room_id, day, ${EVENT_KIND})
        GROUP BY room_id ORDER BY v DESC, k LIMIT 10`],
      postgres: [{
        text: `SELECT room_id AS k, count(*) AS v FROM room_events WHERE origin_server_ts >= $1 AND NOT outlier
               GROUP BY room_id ORDER BY v DESC, room_id COLLATE "C" LIMIT 10`,
        values: [since.getTime()],
      }],
    },
    {
      name: 'daily and monthly active users',
      clickhouse: [
        'SELECT toString(day) AS k, uniqExactMerge(users) AS v FROM analytics_active_users_daily GROUP BY day ORDER BY day',
        "SELECT concat('month ', toString(month)) AS k, uniqExactMerge(users) AS v FROM analytics_active_users_monthly GROUP BY month ORDER BY month",
      ],
      postgres: [
        { text: `SELECT to_char(${utc()}, 'YYYY-MM-DD') AS k, count(DISTINCT sender) AS v FROM room_events WHERE NOT outlier GROUP BY k ORDER BY k`, values: [] },
        { text: `SELECT 'month ' || to_char(${utc()}, 'YYYY-MM-01') AS k, count(DISTINCT sender) AS v FROM room_events WHERE NOT outlier GROUP BY k ORDER BY k`, values: [] },
      ],
    },
    {
      name: "the largest room's hourly activity",
      clickhouse: [`SELECT toString(hour) AS k, sum(n) AS v FROM (
          SELECT hour, ${EVENT_KIND}, uniqExactMerge(events) AS n FROM analytics_room_hourly
          WHERE room_id = ${chString(scope.roomId)} AND status = 'accepted' GROUP BY hour, ${EVENT_KIND})
        GROUP BY hour ORDER BY hour`],
      postgres: [{
        text: `SELECT to_char(${utc()}, 'YYYY-MM-DD HH24:00:00') AS k, count(*) AS v FROM room_events
               WHERE room_id = $1 AND NOT outlier GROUP BY k ORDER BY k`,
        values: [scope.roomId],
      }],
    },
    {
      name: 'msgtypes per server',
      clickhouse: [`SELECT concat(sender_server, ' ', msgtype) AS k, sum(n) AS v FROM (
          SELECT sender_server, day, ${EVENT_KIND}, uniqExactMerge(events) AS n FROM analytics_server_daily
          WHERE status = 'accepted' AND event_type = 'm.room.message' GROUP BY sender_server, day, ${EVENT_KIND})
        GROUP BY sender_server, msgtype ORDER BY k`],
      postgres: [{
        text: `SELECT substring(sender from position(':' in sender) + 1) || ' ' || COALESCE(pdu->'content'->>'msgtype', '') AS k, count(*) AS v
               FROM room_events WHERE type = 'm.room.message' AND NOT outlier GROUP BY k ORDER BY k`,
        values: [],
      }],
      comparable: perServer,
    },
  ];
};

/** Rows of `k`, `v` as answers (PostgreSQL's count is a bigint, read as a string). */
export const answersOf = (rows: readonly Record<string, unknown>[]): Answer[] =>
  rows.map((row) => ({ key: String(row.k), value: Number(row.v) }));

/** The first difference between two answers to one question, or undefined when they agree. */
export const disagreement = (question: Question, clickhouse: readonly Answer[], postgres: readonly Answer[]): string | undefined => {
  const reduce = question.comparable ?? ((answers: readonly Answer[]) => answers);
  const left = new Map(reduce(clickhouse).map((answer) => [answer.key, answer.value]));
  const right = new Map(reduce(postgres).map((answer) => [answer.key, answer.value]));
  for (const [key, value] of left) if (right.get(key) !== value) return `${key}: ClickHouse ${value}, PostgreSQL ${right.get(key) ?? 'nothing'}`;
  for (const [key, value] of right) if (!left.has(key)) return `${key}: ClickHouse nothing, PostgreSQL ${value}`;
  return undefined;
};

/**
 * Waiting for a server's analytics warehouse in tests. ClickHouse shows a row of analytics_events
 * (or analytics_redactions) before the same INSERT has filled the rollups: the materialized views
 * run after the base table's part is committed. The projection stores its position only after
 * every INSERT of a batch returned, views included, so a row whose (partition, offset) is below the
 * committed position has all of its rollups in place.
 */
import type { ClickHouse } from '../../infra/clickhouse/index.ts';
import {
  ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, analyticsProjection, loadClickHousePositions,
} from '../../projections/analytics/index.ts';

const ANALYTICS = analyticsProjection('', []);

/**
 * Resolves once the analytics projection's committed positions cover every row the warehouse
 * shows now; call it after waiting for the rows themselves. Fails after `timeoutMs`.
 */
export const waitForWarehouseCommitted = async (ch: ClickHouse, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  const visible = await ch.query<{ p: number; last: number | string }>(`SELECT log_partition AS p, max(log_offset) AS last FROM (
      SELECT log_partition, log_offset FROM ${ANALYTICS_EVENTS_TABLE}
      UNION ALL SELECT log_partition, log_offset FROM ${ANALYTICS_REDACTIONS_TABLE}) GROUP BY p`);
  for (;;) {
    const committed = await loadClickHousePositions(ch, ANALYTICS);
    const behind = visible.filter((row) => Number(committed.get(Number(row.p)) ?? 0) <= Number(row.last));
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`the analytics projection did not commit past the rows it wrote within ${timeoutMs} ms: ${JSON.stringify(behind)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

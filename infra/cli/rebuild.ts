/**
 * `npm run rebuild -- <projection>`: rebuilds a read model from offset 0 of the log, with a progress
 * bar. Run it with the server stopped; it reads the same configuration as the server.
 * (The ClickHouse analytics view rebuilds itself when its projection version changes.)
 */
import { roomsProjection } from '../../projections/rooms/index.ts';
import { SEARCH_PROJECTION_NAME, searchProjectionFor } from '../../projections/search/index.ts';
import { rebuildProjection, type Projection } from '../../projections/runtime/index.ts';
import { ROOM_EVENTS_TOPIC } from '../../domain/index.ts';
import { loadConfig, type StrataConfig } from '../config/index.ts';
import { createErasure } from '../erasure/index.ts';
import { createLogger } from '../observability/index.ts';
import { openReadModels, openRoomLog, reasonOf } from '../server/index.ts';
import { createProgressBar } from './progress.ts';

/** Each projection as the server runs it with this configuration. */
const PROJECTIONS: ReadonlyMap<string, (config: StrataConfig) => Projection> = new Map([
  [roomsProjection.name, () => roomsProjection],
  [SEARCH_PROJECTION_NAME, (config: StrataConfig) => searchProjectionFor(config.searchLanguage)],
]);

const name = process.argv[2];
const projectionOf = name === undefined ? undefined : PROJECTIONS.get(name);
if (projectionOf === undefined) {
  process.stderr.write(`usage: npm run rebuild -- <${[...PROJECTIONS.keys()].join('|')}>\n`);
  process.exit(2);
}

try {
  const config = loadConfig(process.env);
  const projection = projectionOf(config);
  const logger = createLogger({ level: 'warn' });
  const { log: plainLog } = await openRoomLog(config, logger);
  const { db } = await openReadModels(config);
  // Sealed content is opened with the keys beside the read models (docs/erasure.md); the key store
  // is no projection's table, so the rebuild leaves it as it is.
  const erasure = await createErasure({
    db, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: config.redactionRetentionMs, retention: config.retention,
    now: () => Date.now(), logger,
  });
  const log = erasure.seal(plainLog);
  const bar = createProgressBar({ label: `rebuild ${projection.name}` });
  const { done } = await rebuildProjection({ projection, log, db, onProgress: ({ done, total }) => bar.update(done, total) });
  bar.finish();
  process.stderr.write(`rebuilt ${projection.name} from ${done} records\n`);
  await db.close();
  await log.close();
} catch (error) {
  process.stderr.write(`strata: rebuild failed: ${reasonOf(error)}\n`);
  process.exit(1);
}

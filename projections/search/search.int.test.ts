// The search projection and its queries on PGlite and real PostgreSQL, fed by the real decider
// through the room writer: what is indexed, how it is found and ranked, what hides it, and that a
// rebuild from offset 0 gives the same rows.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SearchQuery, SqlDatabase } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { searchTerms } from '../../domain/app/search/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { openTestSchema, startRoomsStack, type RoomsStack } from '../../test/harness/index.ts';
import { rebuildProjection, startProjection, type RunningProjection } from '../runtime/index.ts';
import { searchProjection, searchProjectionFor } from './projection.ts';
import { createSearchQueries } from './queries.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };

interface Backend {
  open(): Promise<{ db: SqlDatabase; drop(): Promise<void> }>;
}

const backends: Record<string, Backend> = {
  PGlite: {
    async open() {
      const dir = await mkdtemp(path.join(tmpdir(), 'strata-search-pglite-'));
      const db = await createPgliteDatabase({ dir });
      return { db, drop: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
  PostgreSQL: { open: () => openTestSchema('search_test', 4) },
};

describe.each(Object.entries(backends))('search projection on %s', (_name, backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  let stack: RoomsStack;
  let search: RunningProjection;
  beforeEach(async () => {
    opened = await backend.open();
    stack = await startRoomsStack({ db: opened.db });
    search = await startProjection({ projection: searchProjection, log: stack.log, db: opened.db });
  });
  afterEach(async () => {
    await search.stop();
    await stack.close();
    await opened.drop();
  });

  /** Waits until the search projection applied the event. */
  const indexed = async (eventId: string): Promise<void> => {
    const event = await stack.queries.event(eventId);
    expect(await search.waitFor(event!.partition, event!.offset, 10_000)).toBe(true);
  };
  const query = (roomIds: readonly string[], term: string, extra: Partial<SearchQuery> = {}): SearchQuery => ({
    tsquery: searchTerms(term).tsquery!, keys: ['content.body', 'content.name', 'content.topic'],
    scopes: roomIds.map((roomId) => ({ roomId, from: 0, to: Number.MAX_SAFE_INTEGER })),
    notSenders: [], notTypes: [], ignored: [], orderBy: 'rank', limit: 10, ...extra,
  });
  const ids = async (q: SearchQuery): Promise<string[]> =>
    (await createSearchQueries(opened.db).search(q)).hits.map((hit) => hit.event.eventId);

  it('indexes bodies, names and topics, finds them by word and by the last word\'s prefix, and ranks', async () => {
    const { rooms } = stack;
    const { roomId } = await rooms.createRoom(alice, { name: 'Gardening club', topic: 'Tomatoes and roses', preset: 'public_chat' });
    await rooms.join(bob, roomId);
    const once = await rooms.sendMessage(alice, roomId, 'm.room.message', 't1', { msgtype: 'm.text', body: 'The tomatoes are ripe' });
    const twice = await rooms.sendMessage(bob, roomId, 'm.room.message', 't2', { msgtype: 'm.text', body: 'Tomatoes, tomatoes everywhere!' });
    const encrypted = await rooms.sendMessage(bob, roomId, 'm.room.encrypted', 't3', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'tomatoes' });
    await indexed(encrypted);

    const { rows } = await opened.db.query<{ key: string }>('SELECT key FROM search_events WHERE room_id = $1 ORDER BY key', [roomId]);
    expect(rows.map((row) => row.key)).toEqual(['content.body', 'content.body', 'content.name', 'content.topic']);
    const searched = await createSearchQueries(opened.db).search(query([roomId], 'TOMATOES'));
    // More occurrences rank higher; the topic matches too; the encrypted event has no body.
    expect(searched.hits.map((hit) => hit.event.eventId).slice(0, 1)).toEqual([twice]);
    expect(searched.count).toBe(3);
    expect(searched.hits[0]!.highlights).toEqual(['tomatoes']);
    expect(searched.hits[0]!.rank).toBeGreaterThan(searched.hits[2]!.rank);
    expect(await ids(query([roomId], 'rip'))).toEqual([once]);
    expect(await ids(query([roomId], 'rip are'))).toEqual([]);
    expect((await createSearchQueries(opened.db).search(query([roomId], 'garden'))).hits.map((hit) => hit.event.type)).toEqual(['m.room.name']);
    expect(await ids(query([roomId], 'tomatoes -everywhere', { keys: ['content.body'] }))).toEqual([once]);
    expect(await ids(query([roomId], 'tomatoes', { keys: ['content.topic'], types: ['m.room.*'] }))).toHaveLength(1);
    expect(await ids(query([roomId], 'tomatoes', { notTypes: ['m.room.message'] }))).toHaveLength(1);
    expect(await ids(query([roomId], 'tomatoes', { senders: [bob.userId] }))).toEqual([twice]);
    expect(await ids(query([roomId], 'tomatoes', { notSenders: [bob.userId], keys: ['content.body'] }))).toEqual([once]);
    // Ignoring hides messages, not state (the topic alice set stays).
    expect(await ids(query([roomId], 'tomatoes', { ignored: [alice.userId] }))).toHaveLength(2);
    expect(await ids(query(['!elsewhere:example.org'], 'tomatoes'))).toEqual([]);
    // Filter values are written into the statement's text: quotes, backslashes and U+0000 stay values.
    const odd = ["@o'brien:example.org", "x') OR true OR ('", "x\\') OR true OR ('", 'back\\slash', 'nul\u0000'];
    expect(await ids(query([roomId], 'tomatoes', { senders: odd }))).toEqual([]);
    expect(await ids(query([roomId], 'tomatoes', { notSenders: odd, types: [...odd, 'm.room.message'], notTypes: odd }))).toHaveLength(2);
  });

  it('searches only the visible offset ranges, pages by rank and by recency, and forgets a redacted event at once', async () => {
    const { rooms, queries } = stack;
    const { roomId } = await rooms.createRoom(alice, { preset: 'public_chat' });
    const sent: string[] = [];
    for (let i = 0; i < 5; i += 1) sent.push(await rooms.sendMessage(alice, roomId, 'm.room.message', `p${i}`, { msgtype: 'm.text', body: `apple number ${i}` }));
    await indexed(sent[4]!);
    const offsets = await Promise.all(sent.map(async (id) => (await queries.event(id))!.offset));
    const scoped = query([roomId], 'apple', { orderBy: 'recent', scopes: [{ roomId, from: offsets[1]!, to: offsets[3]! }] });
    expect(await ids(scoped)).toEqual([sent[2], sent[1]]);

    const recent = query([roomId], 'apple', { orderBy: 'recent', limit: 2 });
    const first = await createSearchQueries(opened.db).search(recent);
    expect(first.hits.map((hit) => hit.event.eventId)).toEqual([sent[4], sent[3]]);
    const last = first.hits[1]!.event;
    expect(await ids({ ...recent, after: { ts: last.originServerTs, eventId: last.eventId } })).toEqual([sent[2], sent[1]]);
    const byRank = await ids(query([roomId], 'apple', { limit: 3 }));
    expect([...byRank, ...(await ids(query([roomId], 'apple', { limit: 3, after: { skip: 3 } })))].sort()).toEqual([...sent].sort());

    await rooms.redact(alice, roomId, sent[0]!, 'r1');
    // Gone before the search projection even saw the redaction: room_events no longer has the body.
    expect(await ids(query([roomId], 'apple', { limit: 10 }))).not.toContain(sent[0]);
    const redaction = await rooms.sendMessage(alice, roomId, 'm.room.message', 'after', { msgtype: 'm.text', body: 'pear' });
    await indexed(redaction);
    const { rows } = await opened.db.query('SELECT 1 FROM search_events WHERE event_id = $1', [sent[0]]);
    expect(rows).toHaveLength(0);

    const before = await opened.db.query('SELECT event_id, key, vector::text AS vector FROM search_events ORDER BY event_id, key');
    await search.stop();
    await rebuildProjection({ projection: searchProjection, log: stack.log, db: opened.db });
    const after = await opened.db.query('SELECT event_id, key, vector::text AS vector FROM search_events ORDER BY event_id, key');
    expect(after.rows).toEqual(before.rows);
    search = await startProjection({ projection: searchProjection, log: stack.log, db: opened.db });
  });

  it('matches visible ranges and url filters on its own rows, and passes over an event redacted before it applied the redaction', async () => {
    const { rooms, queries } = stack;
    const { roomId } = await rooms.createRoom(alice, { preset: 'public_chat' });
    const sent: string[] = [];
    for (let i = 0; i < 4; i += 1) sent.push(await rooms.sendMessage(alice, roomId, 'm.room.message', `k${i}`, { msgtype: 'm.text', body: `kiwi ${i}` }));
    const file = await rooms.sendMessage(alice, roomId, 'm.room.message', 'k4', { msgtype: 'm.file', body: 'kiwi.pdf', url: 'mxc://example.org/kiwi' });
    await indexed(file);
    // Each row sits at its event's place in room_events: visible ranges need nothing else.
    const { rows } = await opened.db.query<{ event_id: string; log_offset: number | string; contains_url: boolean }>(
      'SELECT event_id, log_offset, contains_url FROM search_events WHERE event_id = ANY($1::text[])', [[...sent, file]]);
    for (const row of rows) {
      expect(Number(row.log_offset)).toBe((await queries.event(row.event_id))!.offset);
      expect(row.contains_url).toBe(row.event_id === file);
    }
    expect(await ids(query([roomId], 'kiwi', { containsUrl: true }))).toEqual([file]);
    expect(await ids(query([roomId], 'kiwi', { containsUrl: false, orderBy: 'recent' }))).toEqual([...sent].reverse());

    // The projection stops before the redaction: its row is still there, the event's body is not.
    await search.stop();
    await rooms.redact(alice, roomId, sent[2]!, 'r2');
    const recent = query([roomId], 'kiwi', { orderBy: 'recent', limit: 2 });
    const first = await createSearchQueries(opened.db).search(recent);
    expect(first.hits.map((hit) => hit.event.eventId)).toEqual([file, sent[3]]);
    const last = first.hits[1]!.event;
    expect(await ids({ ...recent, after: { ts: last.originServerTs, eventId: last.eventId } })).toEqual([sent[1], sent[0]]);
    const ranked = await createSearchQueries(opened.db).search(query([roomId], 'kiwi', { limit: 2, after: { skip: 2 } }));
    expect(ranked.hits).toHaveLength(2);
    expect(ranked.hits.map((hit) => hit.event.eventId)).not.toContain(sent[2]);
    // `count` is approximate (search.yaml): the unapplied redaction is still counted.
    expect(ranked.count).toBe(5);
    search = await startProjection({ projection: searchProjection, log: stack.log, db: opened.db });
  });

  it('beyond the exact count, walks the rooms back in time: the same pages, an estimated count, the newest hits ranked', async () => {
    const { rooms } = stack;
    const { roomId } = await rooms.createRoom(alice, { preset: 'public_chat' });
    const { roomId: other } = await rooms.createRoom(alice, { preset: 'public_chat' });
    const figs: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      // The oldest says it most: the best rank of all, but not among the newest four.
      figs.push(await rooms.sendMessage(alice, roomId, 'm.room.message', `f${i}`, { msgtype: 'm.text', body: i === 0 ? 'fig fig fig fig' : i % 3 === 0 ? `fig fig ${i}` : `fig ${i}` }));
      await rooms.sendMessage(alice, i % 2 === 0 ? roomId : other, 'm.room.message', `o${i}`, { msgtype: 'm.text', body: `olive ${i}` });
    }
    await indexed(await rooms.sendMessage(alice, other, 'm.room.message', 'of', { msgtype: 'm.text', body: 'fig elsewhere' }));
    // Three hits counted exactly, chunks of two rows: every search here walks, through rows that do not match.
    const walking = createSearchQueries(opened.db, 'simple', { exactCount: 3, rankedCandidates: 4, sampleRows: 20_000, firstChunk: 2 });
    const everything = createSearchQueries(opened.db);
    const recent = query([roomId], 'fig', { orderBy: 'recent', limit: 3 });
    const pages: string[] = [];
    let after: SearchQuery['after'];
    for (let page = 0; page < 4; page += 1) {
      const found = await walking.search({ ...recent, ...(after === undefined ? {} : { after }) });
      // A table this small is sampled whole: the estimate is the count.
      expect(found.count).toBe(8);
      pages.push(...found.hits.map((hit) => hit.event.eventId));
      const last = found.hits[found.hits.length - 1];
      if (last === undefined) break;
      after = { ts: last.event.originServerTs, eventId: last.event.eventId };
    }
    expect(pages).toEqual([...figs].reverse());
    expect((await everything.search({ ...recent, limit: 10 })).hits.map((hit) => hit.event.eventId)).toEqual([...figs].reverse());

    const ranked = await walking.search(query([roomId], 'fig', { limit: 3 }));
    // The newest four (f7, f6, f5, f4), best first: f6 says it twice.
    expect(ranked.hits.map((hit) => hit.event.eventId)).toEqual([figs[6], figs[7], figs[5]]);
    expect(ranked.more).toBe(true);
    const second = await walking.search(query([roomId], 'fig', { limit: 3, after: { skip: 3 } }));
    expect(second.hits.map((hit) => hit.event.eventId)).toEqual([figs[4]]);
    expect(second.more).toBe(false);
    // All of them counted exactly: the oldest ranks first.
    const exact = await everything.search(query([roomId], 'fig', { limit: 3 }));
    expect(exact.hits[0]!.event.eventId).toBe(figs[0]);
    expect(exact.count).toBe(8);
    // Sampled thinly, the estimate is never below what the probe counted.
    const thin = createSearchQueries(opened.db, 'simple', { exactCount: 3, rankedCandidates: 4, sampleRows: 1, firstChunk: 2 });
    expect((await thin.search(query([roomId, other], 'fig', { orderBy: 'recent' }))).count).toBeGreaterThanOrEqual(4);
  });

  it('rebuilds a version 1 table (without offsets) at start, and finds its events again', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { preset: 'public_chat' });
    const plum = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'v1', { msgtype: 'm.text', body: 'plum' });
    await indexed(plum);
    await search.stop();
    // As version 1 of the `simple` projection left it.
    await opened.db.query('ALTER TABLE search_events DROP COLUMN log_offset, DROP COLUMN contains_url');
    await opened.db.query("UPDATE projection_positions SET version = 100 WHERE projection = 'search'");
    search = await startProjection({ projection: searchProjection, log: stack.log, db: opened.db });
    const { rows } = await opened.db.query<{ log_offset: number | string }>('SELECT log_offset FROM search_events WHERE event_id = $1', [plum]);
    expect(rows.map((row) => Number(row.log_offset))).toEqual([(await stack.queries.event(plum))!.offset]);
    expect(await ids(query([roomId], 'plum'))).toEqual([plum]);
  });

  it('indexes what PostgreSQL cannot store as is: U+0000, words over its lexeme bound, the largest body', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { preset: 'public_chat' });
    const nul = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'n1', { msgtype: 'm.text', body: 'before\u0000after' });
    const long = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'n2', { msgtype: 'm.text', body: `${'w'.repeat(3000)} tail` });
    const large = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'n3', { msgtype: 'm.text', body: 'word '.repeat(12_000) });
    await indexed(large);
    expect(await ids(query([roomId], 'after'))).toEqual([nul]);
    expect(await ids(query([roomId], 'tail'))).toEqual([long]);
    expect(await ids(query([roomId], 'word'))).toEqual([large]);
  });

  it('stems in the configured language, rebuilding every vector when it changes', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { preset: 'public_chat' });
    const running = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'e1', { msgtype: 'm.text', body: 'The dogs were running' });
    await indexed(running);
    // `simple` does not stem: "dog" is not "dogs", nor is "runs" a prefix of "running"; `english` makes both "dog" and "run".
    expect(await ids(query([roomId], 'dog runs'))).toEqual([]);
    await search.stop();
    search = await startProjection({ projection: searchProjectionFor('english'), log: stack.log, db: opened.db });
    const english = createSearchQueries(opened.db, 'english');
    const q = query([roomId], 'dog runs');
    expect((await english.search(q)).hits.map((hit) => hit.event.eventId)).toEqual([running]);
    expect((await english.search(q)).hits[0]!.highlights).toEqual(['dogs', 'running']);
  });
});

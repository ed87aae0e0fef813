// A message's life in /metrics: a send reports each of its stages (waiting for its room, deciding,
// the log's acknowledgement, the rooms projection applying it), and a long-poll the message wakes
// reports the time from its wake to its answer — where a delivery's latency went, without a
// throwaway build.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, freePort, startTestServer, type TestServer, type UserClient } from '../harness/index.ts';

const STAGES = ['queue', 'decide', 'append', 'apply'];

/** The `_count` of a histogram series, by its labels as written (`{stage="apply"}`, or '' for none). */
const countOf = (text: string, name: string, labels = ''): number => {
  const escaped = `${name}_count${labels}`.replace(/[{}"]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
};

describe('a message\'s life in /metrics', () => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let metricsUrl: string;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startTestServer({ mode: 'embedded', config: { STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}` } });
    const client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    bob = client.as(await client.register('bob'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('times each stage of a send and the long-poll it wakes', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${encodeURIComponent(roomId)}`);
    const since = (await bob.sync({ timeout: '0' })).next_batch as string;
    const before = await (await fetch(metricsUrl)).text();

    // Bob long-polls; Alice's message wakes him.
    const polled = bob.sync({ since, timeout: '20000' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const eventId = await alice.send(roomId, 'hello');
    const answer = await polled;
    const timeline = ((answer.rooms as { join: Record<string, { timeline: { events: { event_id: string }[] } }> }).join[roomId]!).timeline.events;
    expect(timeline.map((event) => event.event_id)).toContain(eventId);

    const after = await (await fetch(metricsUrl)).text();
    for (const stage of STAGES) {
      const label = `{stage="${stage}"}`;
      expect(countOf(after, 'strata_send_stage_seconds', label) - countOf(before, 'strata_send_stage_seconds', label), stage).toBeGreaterThanOrEqual(1);
    }
    expect(countOf(after, 'strata_sync_wake_to_answer_seconds') - countOf(before, 'strata_sync_wake_to_answer_seconds')).toBeGreaterThanOrEqual(1);
    // Bucketed from half a millisecond: a stage's share of a delivery is readable.
    expect(after).toMatch(/^strata_send_stage_seconds_bucket\{le="0\.0005",stage="apply"\} \d+$/m);
  });
});

// Consumer lag in /metrics: every consumer of the room log — the rooms, search and analytics
// projections and the push, federation and appservice senders — reports strata_projection_lag per
// partition, and it falls to 0 once each has caught up with what was sent.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier } from '../../projections/runtime/index.ts';
import { MatrixClient, freePort, startTestServer, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const CONSUMERS = ['rooms', 'search', 'analytics', 'push_gateway', 'federation_sender', 'appservice_sender'];

/** `strata_projection_lag` samples by consumer, each a list of per-partition values. */
const lagSamples = (text: string): Map<string, number[]> => {
  const samples = new Map<string, number[]>();
  for (const match of text.matchAll(/^strata_projection_lag\{projection="([^"]+)",partition="\d+"\} (\S+)$/gm)) {
    samples.set(match[1]!, [...(samples.get(match[1]!) ?? []), Number(match[2])]);
  }
  return samples;
};

describe.each<ServerMode>(['embedded', 'distributed'])('consumer lag in /metrics (%s)', (mode) => {
  const database = `strata_lag_e2e_${mode}_${process.pid}_${Date.now()}`;
  let dir: string;
  let server: TestServer;
  let alice: UserClient;
  let metricsUrl: string;

  beforeAll(async () => {
    const services = inject('strataTestServices');
    dir = await mkdtemp(path.join(tmpdir(), 'strata-lag-e2e-'));
    // A bridge with a url, so the appservice sender runs (nothing listens there: it only backs off).
    const registration = path.join(dir, 'bridge.yaml');
    await writeFile(registration, [
      'id: lag', `url: http://127.0.0.1:${await freePort()}`, 'as_token: as_lag', 'hs_token: hs_lag', 'sender_localpart: lagbot',
      'namespaces:', '  users:', '    - regex: "@lag_.*"', '      exclusive: true', '',
    ].join('\n'));
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startTestServer({
      mode,
      config: {
        STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: database,
      },
      file: { app_service_config_files: [registration] },
    });
    const client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(async () => {
    await server?.stop();
    const ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
    await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports every consumer\'s lag per partition, 0 once caught up', async () => {
    const roomId = await alice.createRoom({ name: 'lag' });
    for (let i = 0; i < 5; i++) await alice.send(roomId, `message ${i}`);

    let samples = new Map<string, number[]>();
    const deadline = Date.now() + 30_000;
    for (;;) {
      samples = lagSamples(await (await fetch(metricsUrl)).text());
      const caughtUp = CONSUMERS.every((name) => (samples.get(name) ?? []).length > 0 && samples.get(name)!.every((lag) => lag === 0));
      if (caughtUp || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const name of CONSUMERS) {
      expect(samples.get(name), name).toBeDefined();
      expect(samples.get(name)!.every((lag) => lag === 0), `${name}: ${samples.get(name)!.join(',')}`).toBe(true);
    }
  });
});

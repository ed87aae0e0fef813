// The analytics dashboard in a real headless browser (Debian's chromium through puppeteer-core)
// against a running server with ClickHouse, in both deployments: a seeded scenario (rooms,
// messages of several msgtypes by several users, a bridge's messages three days old), then the
// page logged in as an analyst must draw every chart with the numbers the API returns (read from
// each chart's table; each canvas must show the chart's colour), the interval filter must change
// them, the live counter must move after a new message, and a non-analyst must see a refusal.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse } from '../../../infra/clickhouse/index.ts';
import { chIdentifier } from '../../../projections/runtime/index.ts';
import { MatrixClient, PASSWORD, e, startTestServer, waitForWarehouseCommitted, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const CHROMIUM = process.env.STRATA_CHROMIUM_PATH ?? '/usr/bin/chromium';
const AS_TOKEN = 'as_dash';
const REGISTRATION = `id: dash
url: null
as_token: ${AS_TOKEN}
hs_token: hs_dash
sender_localpart: dashbot
namespaces:
  users:
    - regex: "@dash_.*"
      exclusive: true
`;
const DAY_MS = 86_400_000;
/** The dataset colour every chart draws its first series in (charts.ts COLOURS[0]). */
const FIRST_COLOUR = [0x2f, 0x6f, 0xdf] as const;

type Row = (string | number)[];

/** An element's data attributes (this file is typed without the DOM: `node` is the page's). */
const datasetOf = (page: Page, selector: string): Promise<Record<string, string | undefined>> =>
  page.$eval(selector, (node) => ({ ...(node as unknown as { dataset: Record<string, string | undefined> }).dataset }));

/** The rows of a chart's table, numbers as numbers. */
const tableOf = (page: Page, chart: string): Promise<Row[]> => page.$$eval(`[data-chart="${chart}"] tbody tr`, (rows) =>
  rows.map((row) => [...row.querySelectorAll('td')].map((cell, i) => (i === 0 ? cell.textContent ?? '' : Number(cell.textContent)))));

/** Pixels of a chart's canvas in the first series' colour (a blank or axes-only canvas has none). */
const colouredPixels = async (page: Page, chart: string): Promise<number> => {
  const canvas = await page.$(`[data-chart="${chart}"] canvas`);
  if (canvas === null) throw new Error(`no canvas for ${chart}`);
  const png = await canvas.screenshot({ type: 'png' });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  let count = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (Math.abs(data[i]! - FIRST_COLOUR[0]) < 24 && Math.abs(data[i + 1]! - FIRST_COLOUR[1]) < 24 && Math.abs(data[i + 2]! - FIRST_COLOUR[2]) < 24) count += 1;
  }
  return count;
};

describe.each<ServerMode>(['embedded', 'distributed'])('analytics dashboard in headless chromium (%s)', (mode) => {
  const database = `strata_dashboard_e2e_${mode}_${process.pid}_${Date.now()}`;
  let dir: string;
  let server: TestServer;
  let client: MatrixClient;
  let ana: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let roomA: string;
  let browser: Browser;
  const pageErrors: string[] = [];

  const api = (path: string, query: Record<string, string | number>): Promise<Body> =>
    ana.get(`/_strata/analytics/v1${path}`, Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])));

  beforeAll(async () => {
    const services = inject('strataTestServices');
    dir = await mkdtemp(path.join(tmpdir(), 'strata-dashboard-e2e-'));
    const registration = path.join(dir, 'dash.yaml');
    await writeFile(registration, REGISTRATION);
    server = await startTestServer({
      mode,
      config: {
        STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: database, STRATA_ANALYTICS_ANALYSTS: '@ana:strata.test',
      },
      file: { app_service_config_files: [registration] },
    });
    client = new MatrixClient(server.url);
    ana = client.as(await client.register('ana'));
    bob = client.as(await client.register('bob'));
    carol = client.as(await client.register('carol'));

    // Room A: four users (one a bridge's puppet, whose two messages are three days old); room B: two.
    roomA = await ana.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(roomA)}`, {});
    await carol.post(`/join/${e(roomA)}`, {});
    const puppet = `@dash_old:${server.serverName}`;
    await client.ok('POST', '/register', { token: AS_TOKEN, json: { type: 'm.login.application_service', username: 'dash_old' } });
    await client.ok('POST', `/join/${e(roomA)}`, { token: AS_TOKEN, query: { user_id: puppet }, json: {} });
    const old = Date.now() - 3 * DAY_MS;
    for (const [i, body] of ['old one', 'old two'].entries()) {
      await client.ok('PUT', `/rooms/${e(roomA)}/send/m.room.message/old${i}`, {
        token: AS_TOKEN, query: { user_id: puppet, ts: old + i }, json: { msgtype: 'm.text', body },
      });
    }
    const send = (who: UserClient, roomId: string, msgtype: string, body: string): Promise<Body> =>
      who.put(`/rooms/${e(roomId)}/send/m.room.message/${Math.random().toString(36).slice(2)}`, { msgtype, body });
    await send(ana, roomA, 'm.text', 'hello');
    await send(ana, roomA, 'm.text', 'again');
    await send(bob, roomA, 'm.text', 'hi');
    await send(bob, roomA, 'm.notice', 'note');
    await send(carol, roomA, 'm.emote', 'waves');
    await send(carol, roomA, 'm.text', 'hey');
    const roomB = await carol.createRoom({ preset: 'public_chat' });
    await ana.post(`/join/${e(roomB)}`, {});
    await send(carol, roomB, 'm.text', 'b one');
    await send(carol, roomB, 'm.text', 'b two');
    await send(ana, roomB, 'm.notice', 'b note');

    // The warehouse has it all once every message counts (rooms are partitions, in order).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const top = await api('/top/msgtypes', { from: 0, to: Date.now() + DAY_MS });
      const counts = Object.fromEntries((top.rows as Body[]).map((row) => [row.key, row.events]));
      if (counts['m.text'] === 8 && counts['m.notice'] === 2 && counts['m.emote'] === 1) break;
      if (Date.now() > deadline) throw new Error(`the warehouse never had the scenario: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Those counts can show before the same INSERT filled the other rollups (DAU/MAU, senders...).
    const ch = await createClickHouse({ url: services.clickhouseUrl, database });
    try {
      await waitForWarehouseCommitted(ch);
    } finally {
      await ch.close();
    }

    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1400,1800'],
      defaultViewport: { width: 1400, height: 1800 },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    const services = inject('strataTestServices');
    const ch = await createClickHouse({ url: services.clickhouseUrl, database });
    await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  });

  const openPage = async (): Promise<Page> => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.on('console', (message) => { if (message.type() === 'error') pageErrors.push(message.text()); });
    page.on('pageerror', (error) => { pageErrors.push(String(error)); });
    page.on('response', (response) => { if (response.status() >= 400) pageErrors.push(`${response.status()} ${response.url()}`); });
    await page.goto(`${server.url}/_strata/analytics/`, { waitUntil: 'load' });
    return page;
  };

  const logIn = async (page: Page, user: string): Promise<void> => {
    await page.waitForSelector('#login-form', { visible: true });
    await page.type('#login-form input[name="user"]', user);
    await page.type('#login-form input[name="password"]', PASSWORD);
    await page.click('#login-form button[type="submit"]');
  };

  /** The range the page asked for, once every chart is drawn. */
  const loaded = async (page: Page): Promise<{ from: number; to: number; bucket: string }> => {
    await page.waitForSelector('#dashboard[data-loaded="true"]', { timeout: 30_000 });
    const range = await datasetOf(page, '#dashboard');
    return { from: Number(range.from), to: Number(range.to), bucket: String(range.bucket) };
  };

  /** Every chart's table against the API's answer for the same range. */
  const expectChartsMatchApi = async (page: Page, range: { from: number; to: number; bucket: string }, roomId?: string): Promise<void> => {
    const room: Record<string, string> = roomId === undefined ? {} : { room_id: roomId };
    for (const chart of ['activity', 'rooms', 'senders', 'servers', 'msgtypes', 'active_users']) {
      expect((await datasetOf(page, `[data-chart="${chart}"]`)).state, chart).toBe('ready');
    }
    const series = await api('/timeseries', { from: range.from, to: range.to, bucket: range.bucket, group_by: 'none', ...room });
    const points = ((series.series as Body[])[0]?.points ?? []) as Body[];
    expect((await tableOf(page, 'activity')).map((row) => row[1])).toEqual(points.map((point) => point.count));
    for (const [chart, second] of [['rooms', 'senders'], ['senders', 'rooms'], ['servers', 'senders'], ['msgtypes', 'senders']] as const) {
      const top = await api(`/top/${chart}`, { from: range.from, to: range.to, limit: 10, ...room });
      expect(await tableOf(page, chart), chart).toEqual((top.rows as Body[]).map((row) => [row.key, row.events, row[second]]));
    }
    const active = await api('/active_users', { from: range.from - (range.from % DAY_MS), to: range.to });
    const daily = (await tableOf(page, 'active_users')).filter((row) => String(row[0]).startsWith('day '));
    expect(daily.map((row) => row.slice(1))).toEqual((active.daily as Body[]).map((row) => [row.users, row.local, row.bridged, row.federated]));
  };

  it('draws every chart with the API\'s numbers, follows the interval filter, and shows live counters', async () => {
    const page = await openPage();
    await logIn(page, 'ana');
    const lastDay = await loaded(page);
    expect(lastDay.bucket).toBe('hour');
    expect(lastDay.to - lastDay.from).toBe(DAY_MS);
    await expectChartsMatchApi(page, lastDay);
    // The scenario itself, as the page shows it: the bridge's messages are three days old.
    expect(await tableOf(page, 'msgtypes')).toEqual([['m.text', 6, 3], ['m.notice', 2, 2], ['m.emote', 1, 1]]);
    const dayTotal = Number((await datasetOf(page, '[data-chart="activity"]')).total);
    for (const chart of ['activity', 'rooms', 'senders', 'servers', 'msgtypes', 'active_users']) {
      expect(await colouredPixels(page, chart), chart).toBeGreaterThan(50);
    }
    // A picture of the page for people (STRATA_DASHBOARD_SCREENSHOTS=<dir> keeps it).
    await writeFile(path.join(process.env.STRATA_DASHBOARD_SCREENSHOTS ?? dir, `dashboard-${mode}.png`), await page.screenshot({ fullPage: true }));

    await page.select('#interval', 'week');
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(`document.querySelector('#dashboard').dataset.from !== '${lastDay.from}'`);
    const lastWeek = await loaded(page);
    expect(lastWeek.to - lastWeek.from).toBe(7 * DAY_MS);
    await expectChartsMatchApi(page, lastWeek);
    expect(await tableOf(page, 'msgtypes')).toEqual([['m.text', 8, 4], ['m.notice', 2, 2], ['m.emote', 1, 1]]);
    expect(Number((await datasetOf(page, '[data-chart="activity"]')).total)).toBe(dayTotal + 2);

    // A custom range in UTC: from four days ago to an hour ahead (the old messages in, per hour).
    const utcInput = (ms: number): string => new Date(ms).toISOString().slice(0, 16);
    await page.select('#interval', 'custom');
    const setInput = (selector: string, value: string): Promise<void> =>
      page.$eval(selector, (node, text) => { (node as unknown as { value: string }).value = text; }, value);
    await setInput('#custom-from', utcInput(Date.now() - 4 * DAY_MS));
    await setInput('#custom-to', utcInput(Date.now() + 3_600_000));
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(`document.querySelector('#dashboard').dataset.from !== '${lastWeek.from}'`);
    const custom = await loaded(page);
    expect(custom.bucket).toBe('hour');
    await expectChartsMatchApi(page, custom);
    expect(await tableOf(page, 'msgtypes')).toEqual([['m.text', 8, 4], ['m.notice', 2, 2], ['m.emote', 1, 1]]);

    // The room filter: every chart but DAU/MAU (all rooms) narrows to room A.
    await page.type('#room', roomA);
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(`document.querySelector('#dashboard').dataset.room === ${JSON.stringify(roomA)}`);
    const inRoomA = await loaded(page);
    await expectChartsMatchApi(page, inRoomA, roomA);
    expect((await tableOf(page, 'rooms')).map((row) => row[0])).toEqual([roomA]);
    // Ties in order of their key.
    expect(await tableOf(page, 'msgtypes')).toEqual([['m.text', 6, 4], ['m.emote', 1, 1], ['m.notice', 1, 1]]);

    // Live: today's events move when a message is sent.
    await page.waitForSelector('[data-counter="events_today"][data-value]', { timeout: 15_000 });
    const before = Number((await datasetOf(page, '[data-counter="events_today"]')).value);
    await bob.put(`/rooms/${e(roomA)}/send/m.room.message/live1`, { msgtype: 'm.text', body: 'live' });
    await page.waitForFunction(`document.querySelector('[data-counter="events_today"]').dataset.value === '${before + 1}'`, { timeout: 20_000 });
    expect((await datasetOf(page, '#live-state')).state).toBe('live');
    expect(pageErrors).toEqual([]);

    // Logging out ends the session: the login form again.
    await page.click('#logout');
    await page.waitForSelector('#login-form', { visible: true });
    await page.close();
  });

  it('tells a user who is no analyst that the account may not read analytics', async () => {
    const page = await openPage();
    await logIn(page, 'bob');
    await page.waitForSelector('#refusal', { visible: true });
    expect(await page.$eval('#refusal-text', (node) => node.textContent)).toContain('may not read analytics');
    expect(await page.$eval('#dashboard', (node) => (node as unknown as { hidden: boolean }).hidden)).toBe(true);
    // The refusal is the only failure: whoami's 403.
    expect(pageErrors.filter((text) => !text.includes('403'))).toEqual([]);
    await page.close();
  });
});

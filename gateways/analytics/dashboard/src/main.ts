/**
 * The analytics dashboard: log in with a Matrix account (the token kept in sessionStorage for
 * this tab), check the account is an analyst (/whoami), then draw every chart from the analyst
 * API for the chosen interval and room, and the live counters from the WebSocket. Every number
 * shown comes from the API; none is computed here but sums for the section's data-total.
 */
import { analytics, ApiError, login, logout, type Query } from './api.ts';
import { renderChart, setState, type ChartData } from './charts.ts';
import { bucketLabel, describeRange, isInterval, parseUtcInput, rangeOf, type Range } from './intervals.ts';
import { connectLiveCounters, type LiveCounters } from './live.ts';

const TOKEN_KEY = 'strata.analytics.access_token';
const TOP_LIMIT = 10;

const element = <T extends HTMLElement>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`the page lacks ${selector}`);
  return found;
};

const show = (...visible: string[]): void => {
  for (const id of ['#login', '#refusal', '#dashboard', '#account']) element(id).hidden = !visible.includes(id);
};

type Row = Record<string, unknown>;
const rowsOf = (answer: Row, key: string): Row[] => (Array.isArray(answer[key]) ? answer[key] as Row[] : []);
const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value ?? 0));
const text = (value: unknown): string => (value === null || value === undefined ? '(none)' : String(value));

let live: LiveCounters | undefined;
let generation = 0;

const signOut = async (): Promise<void> => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  live?.stop();
  live = undefined;
  if (token !== null) await logout(token).catch(() => undefined);
  element('#account-user').textContent = '';
  show('#login');
};

const refuse = (message: string): void => {
  live?.stop();
  live = undefined;
  element('#refusal-text').textContent = message;
  show('#refusal', '#account');
};

const topChart = (answer: Row, second: 'senders' | 'rooms'): ChartData => {
  const rows = rowsOf(answer, 'rows');
  return {
    kind: 'bar',
    labels: rows.map((row) => text(row.key)),
    series: [{ label: 'events', values: rows.map((row) => num(row.events)) }],
    rows: rows.map((row) => [text(row.key), num(row.events), num(row[second])]),
  };
};

const activityChart = (answer: Row, range: Range): ChartData => {
  const points = rowsOf(rowsOf(answer, 'series')[0] ?? {}, 'points');
  return {
    kind: 'line',
    labels: points.map((point) => bucketLabel(num(point.ts), range.bucket)),
    series: [{ label: 'events', values: points.map((point) => num(point.count)) }],
    rows: points.map((point) => [bucketLabel(num(point.ts), range.bucket), num(point.count)]),
  };
};

const activeUsersChart = (answer: Row): ChartData => {
  const daily = rowsOf(answer, 'daily');
  const monthly = rowsOf(answer, 'monthly');
  const monthOf = (ts: number): string => bucketLabel(ts, 'day').slice(0, 7);
  const mau = new Map(monthly.map((row) => [monthOf(num(row.ts)), num(row.users)]));
  const cells = (label: string, row: Row): (string | number)[] => [label, num(row.users), num(row.local), num(row.bridged), num(row.federated)];
  return {
    kind: 'columns',
    labels: daily.map((row) => bucketLabel(num(row.ts), 'day')),
    series: [
      { label: 'daily active users', values: daily.map((row) => num(row.users)) },
      { label: 'monthly active users', values: daily.map((row) => mau.get(monthOf(num(row.ts))) ?? 0) },
    ],
    rows: [
      ...daily.map((row) => cells(`day ${bucketLabel(num(row.ts), 'day')}`, row)),
      ...monthly.map((row) => cells(`month ${monthOf(num(row.ts))}`, row)),
    ],
  };
};

/** Loads every chart for the filters; a later load supersedes one still under way. */
const loadCharts = async (token: string, range: Range, roomId: string | undefined): Promise<void> => {
  const mine = ++generation;
  const dashboard = element('#dashboard');
  dashboard.dataset.from = String(range.from);
  dashboard.dataset.to = String(range.to);
  dashboard.dataset.bucket = range.bucket;
  dashboard.dataset.room = roomId ?? '';
  dashboard.dataset.loaded = 'false';
  element('#range').textContent = `${describeRange(range)}${roomId === undefined ? '' : `, room ${roomId}`}`;
  const base: Query = { from: range.from, to: range.to, room_id: roomId };
  const day = 86_400_000;
  const jobs: [string, () => Promise<ChartData>][] = [
    ['activity', async () => activityChart(await analytics(token, '/timeseries', { ...base, bucket: range.bucket, group_by: 'none' }), range)],
    ['rooms', async () => topChart(await analytics(token, '/top/rooms', { ...base, limit: TOP_LIMIT }), 'senders')],
    ['senders', async () => topChart(await analytics(token, '/top/senders', { ...base, limit: TOP_LIMIT }), 'rooms')],
    ['servers', async () => topChart(await analytics(token, '/top/servers', { ...base, limit: TOP_LIMIT }), 'senders')],
    ['msgtypes', async () => topChart(await analytics(token, '/top/msgtypes', { ...base, limit: TOP_LIMIT }), 'senders')],
    ['active_users', async () => activeUsersChart(await analytics(token, '/active_users', { from: range.from - (range.from % day), to: range.to }))],
  ];
  await Promise.all(jobs.map(async ([name, load]) => {
    const section = element(`[data-chart="${name}"]`);
    setState(section, 'loading');
    try {
      const data = await load();
      if (mine === generation) renderChart(section, data);
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof ApiError && error.status === 401) {
        await signOut();
        return;
      }
      setState(section, 'error', error instanceof ApiError ? `${error.errcode}: ${error.message}` : String(error));
    }
  }));
  if (mine === generation) dashboard.dataset.loaded = 'true';
};

/** The range and room the filters say, or what is wrong with them. */
const readFilters = (): { range: Range; roomId: string | undefined } | string => {
  const interval = element<HTMLSelectElement>('#interval').value;
  if (!isInterval(interval)) return 'Unknown interval';
  element('#custom-range').hidden = interval !== 'custom';
  const range = rangeOf(interval, Date.now(), {
    from: parseUtcInput(element<HTMLInputElement>('#custom-from').value),
    to: parseUtcInput(element<HTMLInputElement>('#custom-to').value),
  });
  if (typeof range === 'string') return range;
  const room = element<HTMLInputElement>('#room').value.trim();
  if (room !== '' && !room.startsWith('!')) return 'A room is given by its id (!…)';
  return { range, roomId: room === '' ? undefined : room };
};

const applyFilters = (token: string): void => {
  const filters = readFilters();
  const error = element('#filters-error');
  error.hidden = typeof filters !== 'string';
  if (typeof filters === 'string') {
    error.textContent = filters;
    return;
  }
  void loadCharts(token, filters.range, filters.roomId);
};

const enter = async (token: string): Promise<void> => {
  let whoami: Row;
  try {
    whoami = await analytics(token, '/whoami');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      show('#login');
      return;
    }
    if (error instanceof ApiError && error.status === 403) {
      refuse(`This account may not read analytics: only server admins and the analysts the server names may (${error.errcode}).`);
      return;
    }
    refuse(error instanceof ApiError ? `${error.errcode}: ${error.message}` : String(error));
    return;
  }
  element('#account-user').textContent = text(whoami.user_id);
  if (whoami.warehouse !== true) {
    refuse('This server has no analytics warehouse: ClickHouse is not configured (STRATA_CLICKHOUSE_URL).');
    return;
  }
  show('#dashboard', '#account');
  live?.stop();
  live = connectLiveCounters(element('#live'), token, () => { void signOut(); });
  applyFilters(token);
};

const start = (): void => {
  element('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const failure = element('#login-error');
    failure.hidden = true;
    login(String(form.get('user') ?? '').trim(), String(form.get('password') ?? ''))
      .then(async ({ accessToken }) => {
        sessionStorage.setItem(TOKEN_KEY, accessToken);
        (event.target as HTMLFormElement).reset();
        await enter(accessToken);
      })
      .catch((error: unknown) => {
        failure.textContent = error instanceof ApiError ? `${error.errcode}: ${error.message}` : String(error);
        failure.hidden = false;
      });
  });
  element('#logout').addEventListener('click', () => { void signOut(); });
  element('#refusal-logout').addEventListener('click', () => { void signOut(); });
  element('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token !== null) applyFilters(token);
  });
  element('#interval').addEventListener('change', () => {
    element('#custom-range').hidden = element<HTMLSelectElement>('#interval').value !== 'custom';
  });
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) show('#login');
  else void enter(token);
};

start();

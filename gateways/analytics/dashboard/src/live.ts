/**
 * The live counters: the analytics WebSocket (the token in the query string, as browsers cannot
 * set headers on a WebSocket). Reconnects after a drop with a growing delay; a refusal (4401
 * token, 4403 not an analyst, 4501 no warehouse) is shown and not retried.
 */
import { COUNTERS_SOCKET } from './api.ts';

export interface CountersMessage {
  readonly type: 'counters';
  readonly ts: number;
  readonly events_last_minute: number;
  readonly events_last_hour: number;
  readonly events_today: number;
  readonly senders_today: number;
  readonly rooms_today: number;
  readonly by_type_last_hour: Readonly<Record<string, number>>;
}

const COUNTERS = ['events_last_minute', 'events_last_hour', 'events_today', 'senders_today', 'rooms_today'] as const;
const FINAL_CODES = new Set([4401, 4403, 4501]);

export interface LiveCounters {
  stop(): void;
}

export const connectLiveCounters = (root: HTMLElement, token: string, onTokenRefused: () => void): LiveCounters => {
  const state = root.querySelector<HTMLElement>('#live-state');
  const setState = (value: string, text: string): void => {
    if (state === null) return;
    state.dataset.state = value;
    state.textContent = text;
  };
  let socket: WebSocket | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 1_000;
  let stopped = false;

  const show = (message: CountersMessage): void => {
    for (const name of COUNTERS) {
      const cell = root.querySelector<HTMLElement>(`[data-counter="${name}"]`);
      if (cell !== null) {
        cell.textContent = message[name].toLocaleString('en');
        cell.dataset.value = String(message[name]);
      }
    }
    const body = root.querySelector('[data-counter-table="by_type_last_hour"] tbody');
    body?.replaceChildren(...Object.entries(message.by_type_last_hour).map(([type, events]) => {
      const row = document.createElement('tr');
      const key = document.createElement('td');
      key.textContent = type;
      const value = document.createElement('td');
      value.textContent = String(events);
      row.append(key, value);
      return row;
    }));
    setState('live', `updated ${new Date(message.ts).toISOString().slice(11, 19)} UTC`);
    root.dataset.countersTs = String(message.ts);
  };

  const connect = (): void => {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${scheme}//${location.host}${COUNTERS_SOCKET}?access_token=${encodeURIComponent(token)}`);
    socket.addEventListener('open', () => { delay = 1_000; });
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as CountersMessage;
      if (message.type === 'counters') show(message);
    });
    socket.addEventListener('close', (event) => {
      if (stopped) return;
      if (FINAL_CODES.has(event.code)) {
        setState('refused', event.reason === '' ? `closed (${event.code})` : event.reason);
        if (event.code === 4401) onTokenRefused();
        return;
      }
      setState('reconnecting', `reconnecting (${event.code})…`);
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30_000);
    });
  };
  connect();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      socket?.close(1000);
    },
  };
};

/**
 * WebSocket upgrades on the client listener: each upgrade goes to the gateway that serves its
 * path (gateways/ws), any other is 404 M_UNRECOGNIZED as a plain request would be. Sockets count
 * in `/metrics`: open ones, and closes by reason.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventSocketMetrics, WebSocketGateway } from '../../gateways/ws/index.ts';

/** Serves upgrades on each of the listener's servers (httpServer.ts: one per listening socket). */
export const serveWebSocketUpgrades = (servers: readonly Server[], gateways: readonly WebSocketGateway[]): void => {
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const gateway = gateways.find((candidate) => candidate.serves(request));
    if (gateway !== undefined) {
      gateway.upgrade(request, socket, head);
      return;
    }
    const body = JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
  for (const server of servers) server.on('upgrade', upgrade);
};

/** `strata_websockets_open` and `strata_websocket_closes_total{reason}` for one stream. */
export const webSocketMetrics = (registry: Registry, stream: string): EventSocketMetrics => {
  const open = (registry.getSingleMetric('strata_websockets_open') as Gauge<'stream'> | undefined)
    ?? new Gauge({ name: 'strata_websockets_open', help: 'Open WebSockets by stream', labelNames: ['stream'] as const, registers: [registry] });
  const closes = (registry.getSingleMetric('strata_websocket_closes_total') as Counter<'stream' | 'reason'> | undefined)
    ?? new Counter({
      name: 'strata_websocket_closes_total',
      help: 'WebSockets closed, by stream and reason (client, shutdown, slow_reader, token_revoked, forbidden, heartbeat, sync_error, stream_error)',
      labelNames: ['stream', 'reason'] as const,
      registers: [registry],
    });
  open.set({ stream }, 0);
  return {
    opened: () => open.inc({ stream }),
    closed: (reason) => {
      open.dec({ stream });
      closes.inc({ stream, reason });
    },
  };
};

/** `strata_analytics_counter_polls_total{outcome}`: the shared counters poll (one per process, whatever the sockets). */
export const countersPollMetrics = (registry: Registry): ((outcome: 'ok' | 'failed') => void) => {
  const polls = new Counter({
    name: 'strata_analytics_counter_polls_total',
    help: 'Polls of the warehouse for the live analytics counters, by outcome (ok, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return (outcome) => polls.inc({ outcome });
};

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { webSocketMetrics } from './webSockets.ts';

describe('webSocketMetrics', () => {
  it('counts open sockets per stream and closes by reason', async () => {
    const registry = new Registry();
    const events = webSocketMetrics(registry, 'user_events');
    const other = webSocketMetrics(registry, 'analytics');
    events.opened();
    events.opened();
    other.opened();
    events.closed('slow_reader');
    const text = await registry.metrics();
    expect(text).toContain('strata_websockets_open{stream="user_events"} 1');
    expect(text).toContain('strata_websockets_open{stream="analytics"} 1');
    expect(text).toContain('strata_websocket_closes_total{stream="user_events",reason="slow_reader"} 1');
  });
});

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { coalescingSocket } from './coalescingSocket.ts';

describe('coalescingSocket', () => {
  it('holds the writes of one tick back until the tick ends, keeping every byte in order', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((peer) => peer.on('data', (chunk: Buffer) => received.push(chunk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = coalescingSocket();
    await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));

    socket.write('one,');
    socket.write(Buffer.from('two,'));
    expect(socket.writableCorked).toBe(1);
    socket.write('three', 'utf8');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    socket.write('|four');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(socket.writableCorked).toBe(0);

    for (let tries = 0; tries < 100 && Buffer.concat(received).length < 18; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(Buffer.concat(received).toString()).toBe('one,two,three|four');
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});

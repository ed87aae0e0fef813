/**
 * A TCP socket for pg that sends everything written in one tick with one system call. pg writes
 * each protocol message separately (Parse, Bind, Describe, Execute, Sync: four or five per
 * statement, more when statements are pipelined), and on this kind of machine system calls are a
 * large share of the server's CPU. Corking until the tick ends changes no byte and no order.
 */
import net from 'node:net';

/** Sockets corked in the current tick. */
const corked = new WeakSet<net.Socket>();
const write = net.Socket.prototype.write;

const connect = net.Socket.prototype.connect;

class CoalescingSocket extends net.Socket {}
CoalescingSocket.prototype.write = function coalescedWrite(this: net.Socket, ...args: unknown[]): boolean {
  if (!corked.has(this)) {
    corked.add(this);
    this.cork();
    process.nextTick(() => {
      corked.delete(this);
      this.uncork();
    });
  }
  return Reflect.apply(write, this, args) as boolean;
} as unknown as net.Socket['write'];
// net.Socket#connect pins `write` on the instance to net.Socket's own (to undo the write-after-FIN
// guard of an earlier connection), which would hide the one above: the pin is dropped again.
CoalescingSocket.prototype.connect = function connectCoalescing(this: net.Socket, ...args: unknown[]): net.Socket {
  const socket = Reflect.apply(connect, this, args) as net.Socket;
  if (Object.hasOwn(this, 'write') && this.write === write) delete (this as { write?: unknown }).write;
  return socket;
} as unknown as net.Socket['connect'];

export const coalescingSocket = (): net.Socket => new CoalescingSocket();

/**
 * Answers the requests Node's HTTP parser refuses before any handler runs (`clientError`: a URL
 * or headers past 16 KiB, a malformed request line, a request that took too long to arrive) with
 * a Matrix error body, as every other refusal has, instead of Node's bare status line. A client
 * reads `errcode` from the body; a bare 431 leaves it with "unknown error".
 *
 * Nothing is written when the socket is already gone (the peer reset it, or it is no longer
 * writable) or when a response is in flight on it, even one whose headers are not out yet (Node's
 * default still writes then): the peer would read the error as the answer to the earlier request,
 * or find it inside that answer. Such sockets are only destroyed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

interface ClientErrorAnswer {
  readonly status: number;
  readonly reason: string;
  readonly errcode: string;
  readonly error: string;
}

/** The answer for a parser error code (llhttp's `HPE_*`, or Node's own request timeout). */
const clientErrorAnswer = (code: string | undefined): ClientErrorAnswer => {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'Request Header Fields Too Large', errcode: 'M_TOO_LARGE', error: 'The request line or headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'Content Too Large', errcode: 'M_TOO_LARGE', error: 'The chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', errcode: 'M_UNKNOWN', error: 'The request did not arrive in time' };
    default:
      return { status: 400, reason: 'Bad Request', errcode: 'M_UNKNOWN', error: 'Malformed HTTP request' };
  }
};

const responseBytes = ({ status, reason, errcode, error }: ClientErrorAnswer): Buffer => {
  const body = JSON.stringify({ errcode, error });
  // The CORS headers of every other answer (gateways/http/cors.ts), so a browser client can read
  // the error too; `Connection: close` because the connection's framing is lost.
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Access-Control-Allow-Origin: *\r\n' +
    'Connection: close\r\n' +
    `\r\n${body}`,
    'latin1',
  );
};

/** How long a refused connection may take to read its answer and close before it is cut. */
const ANSWER_GRACE_MS = 5_000;

/**
 * Registers the `clientError` answer on a server (HTTP or HTTPS: both parse with the same
 * parser and emit the same event). Registering any listener replaces Node's default answer.
 */
export const answerClientErrors = (server: Server): void => {
  // The response each socket is sending, if any: Node keeps it only in an internal field.
  const inFlight = new WeakMap<Duplex, ServerResponse>();
  // Sockets already answered: bytes still arriving on them (the rest of an over-long header) go
  // to the failed parser, which reports the error again.
  const answered = new WeakSet<Duplex>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const { socket } = req;
    inFlight.set(socket, res);
    res.on('close', () => {
      if (inFlight.get(socket) === res) inFlight.delete(socket);
    });
  });
  server.on('clientError', (error: Error, socket: Duplex) => {
    if (answered.has(socket)) return;
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ECONNRESET' || !socket.writable || socket.destroyed || inFlight.has(socket)) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    // end() flushes the answer and half-closes. The socket is not destroyed at once: unread bytes
    // in its receive buffer would make the close a reset, which can discard the answer before the
    // peer reads it. It closes when the peer closes its side, or is cut after a grace period.
    const cut = setTimeout(() => socket.destroy(), ANSWER_GRACE_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
    socket.end(responseBytes(clientErrorAnswer(code)));
  });
};

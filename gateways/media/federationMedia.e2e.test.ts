// Media across servers (server-server-api § Content repository): a signed request gets our media
// as a multipart answer, metadata then bytes; unsigned requests are refused. Our clients get
// another server's media through the authenticated endpoints, fetched once and kept.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signXMatrixRequest } from '../../domain/index.ts';
import {
  FEDERATION_ON_LOOPBACK, MatrixClient, e, startFakeRemoteServer, startTestServer, type FakeRemoteServer, type ServerMode, type Session, type TestServer,
} from '../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('federation media download (%s)', (mode) => {
  let server: TestServer;
  let remote: FakeRemoteServer;
  let alice: Session;

  const signedGet = async (target: string): Promise<Response> => fetch(`${server.url}${target}`, {
    headers: { Authorization: signXMatrixRequest({ method: 'GET', uri: target, destination: server.serverName }, remote.key) },
  });
  const upload = async (bytes: Uint8Array, type: string, filename?: string): Promise<string> => {
    const response = await fetch(`${server.url}/_matrix/media/v3/upload${filename === undefined ? '' : `?filename=${e(filename)}`}`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': type }, body: bytes,
    });
    const { content_uri: mxc } = await response.json() as { content_uri: string };
    return mxc.split('/').pop()!;
  };

  beforeAll(async () => {
    server = await startTestServer({ mode, config: FEDERATION_ON_LOOPBACK });
    remote = await startFakeRemoteServer(server);
    alice = await new MatrixClient(server.url).register('alice');
  });
  afterAll(async () => {
    await remote?.stop();
    await server?.stop();
  });

  it('answers multipart/mixed: a JSON part, then the bytes with their type and disposition', async () => {
    const bytes = randomBytes(300_000);
    const mediaId = await upload(bytes, 'application/pdf', 'report.pdf');
    const response = await signedGet(`/_matrix/federation/v1/media/download/${mediaId}`);
    expect(response.status).toBe(200);
    const boundary = /^multipart\/mixed; boundary=([0-9a-f]+)$/.exec(response.headers.get('content-type') ?? '')?.[1];
    expect(boundary).toBeDefined();
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.headers.get('content-length')).toBe(String(body.length));
    const head = Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--${boundary}\r\n`
      + 'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n\r\n');
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    expect(body.subarray(0, head.length).equals(head)).toBe(true);
    expect(body.subarray(head.length, body.length - tail.length).equals(bytes)).toBe(true);
    expect(body.subarray(body.length - tail.length).equals(tail)).toBe(true);
  });

  it('fetches another server\'s media for our clients once, keeps it, and answers its errors', async () => {
    const bytes = randomBytes(50_000);
    const boundary = 'remoteboundary';
    let asked = 0;
    remote.serve('GET', '/_matrix/federation/v1/media/download/', (request) => {
      asked += 1;
      if (request.path.startsWith('/_matrix/federation/v1/media/download/missing')) return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } };
      if (request.path.startsWith('/_matrix/federation/v1/media/download/garbled')) return { status: 200, raw: Buffer.from('not multipart'), contentType: 'text/plain' };
      return {
        status: 200,
        contentType: `multipart/mixed; boundary=${boundary}`,
        raw: Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--${boundary}\r\n`
            + "Content-Type: image/png\r\nContent-Disposition: inline; filename*=utf-8''r%C3%A9mote.png\r\n\r\n"),
          bytes,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]),
      };
    });
    const download = (mediaId: string, query = '') => fetch(`${server.url}/_matrix/client/v1/media/download/${remote.serverName}/${mediaId}${query}`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    const answers = await Promise.all([download('remoteMedia'), download('remoteMedia')]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(Buffer.from(await answer.arrayBuffer()).equals(bytes)).toBe(true);
      expect(answer.headers.get('content-type')).toBe('image/png');
      expect(answer.headers.get('content-disposition')).toBe("inline; filename*=utf-8''r%C3%A9mote.png");
    }
    expect(asked).toBe(1);
    // Kept: the next download is served from here.
    expect((await download('remoteMedia')).status).toBe(200);
    expect(asked).toBe(1);

    const missing = await download('missing');
    expect([missing.status, (await missing.json() as { errcode: string }).errcode]).toEqual([404, 'M_NOT_FOUND']);
    const garbled = await download('garbled');
    expect(garbled.status).toBe(502);
    const local = await download('notFetched', '?allow_remote=false');
    expect(local.status).toBe(404);
    expect(asked).toBe(3);
  });

  it('refuses unsigned requests and answers 404 for unknown media', async () => {
    const mediaId = await upload(Buffer.from('hello'), 'text/plain');
    const unsigned = await fetch(`${server.url}/_matrix/federation/v1/media/download/${mediaId}`);
    expect([unsigned.status, (await unsigned.json() as { errcode: string }).errcode]).toEqual([401, 'M_UNAUTHORIZED']);
    const unknown = await signedGet('/_matrix/federation/v1/media/download/nosuchmedia');
    expect([unknown.status, (await unknown.json() as { errcode: string }).errcode]).toEqual([404, 'M_NOT_FOUND']);
    const traversal = await signedGet('/_matrix/federation/v1/media/download/..%2Fstrata.yaml');
    expect(traversal.status).toBe(404);
  });
});

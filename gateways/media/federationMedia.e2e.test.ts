// Our media for other servers (server-server-api § Content repository): a signed request gets the
// multipart answer, metadata then bytes; unsigned requests and other servers' media are refused.
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

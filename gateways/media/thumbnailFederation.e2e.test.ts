// Thumbnails across servers (server-server-api § Content repository, v1.11): for another server, a
// signed request gets multipart/mixed, a JSON part then the thumbnail, the client query's rules
// holding; for our clients, another server's image is fetched once and thumbnailed here.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signXMatrixRequest } from '../../domain/index.ts';
import {
  FEDERATION_ON_LOOPBACK, MatrixClient, startFakeRemoteServer, startTestServer, type FakeRemoteServer, type ServerMode, type Session, type TestServer,
} from '../../test/harness/index.ts';
import { imageFixtures } from '../../test/fixtures/media/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('federation media thumbnail (%s)', (mode) => {
  let server: TestServer;
  let remote: FakeRemoteServer;
  let alice: Session;

  const signedGet = async (target: string): Promise<Response> => fetch(`${server.url}${target}`, {
    headers: { Authorization: signXMatrixRequest({ method: 'GET', uri: target, destination: server.serverName }, remote.key) },
  });
  const upload = async (bytes: Uint8Array, type: string): Promise<string> => {
    const response = await fetch(`${server.url}/_matrix/media/v3/upload`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': type }, body: bytes,
    });
    const { content_uri: mxc } = await response.json() as { content_uri: string };
    return mxc.split('/').pop()!;
  };
  const errcodeOf = async (response: Response) => [response.status, (await response.json() as { errcode: string }).errcode];

  beforeAll(async () => {
    server = await startTestServer({ mode, config: FEDERATION_ON_LOOPBACK });
    remote = await startFakeRemoteServer(server);
    alice = await new MatrixClient(server.url).register('alice');
  });
  afterAll(async () => {
    await remote?.stop();
    await server?.stop();
  });

  it('answers multipart/mixed: a JSON part, then the thumbnail with its type and disposition', async () => {
    const [jpeg] = (await imageFixtures(400, 300)).filter((image) => image.contentType === 'image/jpeg');
    const mediaId = await upload(jpeg!.bytes, 'image/jpeg');
    for (const [query, width, height] of [['width=96&height=96&method=crop', 96, 96], ['width=150&height=100&method=crop', 150, 100]] as const) {
      const response = await signedGet(`/_matrix/federation/v1/media/thumbnail/${mediaId}?${query}`);
      expect(response.status).toBe(200);
      const boundary = /^multipart\/mixed; boundary=([0-9a-f]+)$/.exec(response.headers.get('content-type') ?? '')?.[1];
      expect(boundary).toBeDefined();
      const body = Buffer.from(await response.arrayBuffer());
      expect(response.headers.get('content-length')).toBe(String(body.length));
      const head = Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--${boundary}\r\n`
        + 'Content-Type: image/jpeg\r\nContent-Disposition: inline; filename=thumbnail.jpg\r\n\r\n');
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      expect(body.subarray(0, head.length).equals(head)).toBe(true);
      expect(body.subarray(body.length - tail.length).equals(tail)).toBe(true);
      const metadata = await sharp(body.subarray(head.length, body.length - tail.length)).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', width, height]);
    }
  });

  it('thumbnails another server\'s image for our clients: fetched once over federation, thumbnailed here', async () => {
    const [png] = (await imageFixtures(300, 200)).filter((image) => image.contentType === 'image/png');
    const boundary = 'thumbboundary';
    let asked = 0;
    remote.serve('GET', '/_matrix/federation/v1/media/download/', () => {
      asked += 1;
      return {
        status: 200,
        contentType: `multipart/mixed; boundary=${boundary}`,
        raw: Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`),
          png!.bytes,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]),
      };
    });
    const thumbnail = (mediaId: string, query: string) => fetch(`${server.url}/_matrix/client/v1/media/thumbnail/${remote.serverName}/${mediaId}?${query}`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    expect((await thumbnail('notHeld', 'width=32&height=32&allow_remote=false')).status).toBe(404);
    expect(asked).toBe(0);
    for (const [query, width, height] of [['width=96&height=96&method=crop', 96, 96], ['width=100&height=50&method=crop', 100, 50], ['width=150&height=100&method=scale', 300, 200]] as const) {
      const answer = await thumbnail('remoteImage', query);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('image/png');
      const metadata = await sharp(Buffer.from(await answer.arrayBuffer())).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual(['png', width, height]);
    }
    expect(asked).toBe(1);
  });

  it('refuses unsigned requests, bad parameters, unknown media and what is no image', async () => {
    const [png] = await imageFixtures(64, 48);
    const mediaId = await upload(png!.bytes, 'image/png');
    expect(await errcodeOf(await fetch(`${server.url}/_matrix/federation/v1/media/thumbnail/${mediaId}?width=32&height=32`)))
      .toEqual([401, 'M_UNAUTHORIZED']);
    expect(await errcodeOf(await signedGet(`/_matrix/federation/v1/media/thumbnail/${mediaId}?width=32&height=32&method=zoom`)))
      .toEqual([400, 'M_INVALID_PARAM']);
    expect(await errcodeOf(await signedGet('/_matrix/federation/v1/media/thumbnail/nosuchmedia?width=32&height=32'))).toEqual([404, 'M_NOT_FOUND']);
    const text = await upload(Buffer.from('not an image'), 'text/plain');
    expect(await errcodeOf(await signedGet(`/_matrix/federation/v1/media/thumbnail/${text}?width=32&height=32`))).toEqual([400, 'M_UNKNOWN']);
  });
});

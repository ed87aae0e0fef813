/**
 * What Strata posts to a push gateway beside what Synapse posts (push-gateway-api § POST
 * /_matrix/push/v1/notify): one recording gateway, a recipient with two pushers (the full format and
 * `event_id_only`) on each server, and the same story on each — the sender creates a named room and
 * invites the recipient, who joins; the sender says hello; the recipient reads it. The notifications
 * of the invite and of the message, the badge update the read receipt sends, and the push of an
 * invite from the other server into a room the recipient's server is not in, are compared key by key: the same keys at every level, the same type of every value,
 * and the same values wherever they do not differ by nature (ids and timestamps do).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, type Body, type UserClient } from '../harness/index.ts';
import { eventually } from './federationViews.ts';
import { startSynapseAndStrata, type SynapseAndStrata } from './synapsePeer.ts';

const NOTIFY_PATH = '/_matrix/push/v1/notify';
/**
 * Synapse's `notification.id` repeats `event_id` ("deprecated: remove soon" in its httppusher.py);
 * the spec does not define it, so Strata does not send it.
 */
const SYNAPSE_ONLY = new Set(['id']);
/**
 * Synapse's badge update also sends an empty `id` and `sender` and a null `type` (its
 * `_send_badge`): the spec types `sender` and `type` as strings and omits `event_id` for a badge
 * update (push_notifier.yaml), so Strata leaves them out.
 */
const SYNAPSE_BADGE_ONLY = new Set(['id', 'sender', 'type']);

interface Recorded { readonly pushkey: string; readonly notification: Body }

/**
 * Without `highlight: false` tweaks: Synapse's default rules (`.m.rule.room_one_to_one`,
 * `.m.rule.invite_for_me`) set it, the spec's do not, and a highlight tweak that is absent is false
 * (client-server-api § Push rules: tweaks), so both say the same.
 */
const withoutFalseHighlight = (notification: Body): Body => ({
  ...notification,
  devices: ((notification.devices ?? []) as Body[]).map((device) => {
    if (device.tweaks === undefined) return device;
    const { highlight, ...tweaks } = device.tweaks as Body;
    const kept = highlight === false ? tweaks : device.tweaks as Body;
    const { tweaks: _tweaks, ...rest } = device;
    return Object.keys(kept).length === 0 ? rest : { ...rest, tweaks: kept };
  }),
});

/** A push gateway that records every notification, by the pushkey it was for. */
const startGateway = async (): Promise<{ url: string; received: Recorded[]; close(): Promise<void> }> => {
  const received: Recorded[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
      const notification = (body.notification ?? {}) as Body;
      if (request.method === 'POST' && request.url === NOTIFY_PATH) {
        for (const device of (notification.devices ?? []) as Body[]) received.push({ pushkey: device.pushkey as string, notification });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rejected: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${NOTIFY_PATH}`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
};

/** The structure of a JSON value: the same keys, each value replaced by its type, arrays item by item. */
const shapeOf = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([key]) => !SYNAPSE_ONLY.has(key)).sort(([a], [b]) => a.localeCompare(b))
      .map(([key, item]) => [key, shapeOf(item)]));
  }
  return value === null ? 'null' : typeof value;
};

/** What must be equal on both servers: everything but ids, timestamps, pushkeys and the gateway's url. */
const comparable = (notification: Body): Body => ({
  type: notification.type,
  prio: notification.prio,
  membership: notification.membership,
  user_is_target: notification.user_is_target,
  room_name: notification.room_name,
  room_alias: notification.room_alias,
  sender_display_name: notification.sender_display_name,
  counts: notification.counts,
  content: notification.content === undefined ? undefined : { ...notification.content as Body, displayname: undefined },
  devices: ((notification.devices ?? []) as Body[]).map((device) => ({ app_id: device.app_id, data: device.data, tweaks: device.tweaks })),
});

interface Story {
  readonly sender: UserClient;
  readonly recipient: UserClient;
  /** The recipient's pushers' keys: the full format and event_id_only. */
  readonly pushkeys: { readonly full: string; readonly idOnly: string };
  inviteId?: string;
  messageId?: string;
}

describe('push gateway payloads, Strata beside Synapse', () => {
  let both: SynapseAndStrata;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  const stories: { strata?: Story; synapse?: Story } = {};

  const pusher = (url: string, pushkey: string, format?: string): Body => ({
    kind: 'http', app_id: 'org.example.interop', pushkey, app_display_name: 'Interop', device_display_name: 'Phone',
    profile_tag: 'tag', lang: 'en', data: { url, extra: 'kept', ...(format === undefined ? {} : { format }) },
  });

  /** The sender's named room, the recipient invited, joined, then a message; the pushes awaited. */
  const tell = async (story: Story): Promise<void> => {
    const { sender, recipient } = story;
    await sender.put(`/profile/${e(sender.userId)}/displayname`, { displayname: 'Sender' });
    await recipient.post('/pushers/set', pusher(gateway.url, story.pushkeys.full));
    await recipient.post('/pushers/set', pusher(gateway.url, story.pushkeys.idOnly, 'event_id_only'));
    const roomId = await sender.createRoom({ preset: 'private_chat', name: 'Payloads' });
    const invite = await sender.post(`/rooms/${e(roomId)}/invite`, { user_id: recipient.userId });
    expect(invite).toEqual({});
    const state = await sender.get(`/rooms/${e(roomId)}/state/m.room.member/${e(recipient.userId)}`);
    expect(state.membership).toBe('invite');
    const chunk = await eventually(async () => (await sender.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 5 })).chunk as Body[],
      (events) => events.some((event) => event.type === 'm.room.member' && event.state_key === recipient.userId), 'the invite event');
    const inviteId = chunk.find((event) => event.type === 'm.room.member' && event.state_key === recipient.userId)!.event_id as string;
    story.inviteId = inviteId;
    await pushed(story.pushkeys.full, inviteId);
    await recipient.post(`/join/${e(roomId)}`, {});
    const messageId = await sender.send(roomId, 'hello');
    story.messageId = messageId;
    await pushed(story.pushkeys.full, messageId);
    await pushed(story.pushkeys.idOnly, messageId);
  };

  const pushed = (pushkey: string, eventId: string): Promise<Body> => eventually(
    async () => gateway.received.find((entry) => entry.pushkey === pushkey && entry.notification.event_id === eventId)?.notification,
    (notification) => notification !== undefined, `the push of ${eventId} for ${pushkey}`, 45_000,
  ) as Promise<Body>;

  beforeAll(async () => {
    gateway = await startGateway();
    both = await startSynapseAndStrata();
    const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const strataClient = new MatrixClient(both.strata.url);
    const synapseClient = new MatrixClient(both.peer.clientUrl);
    stories.strata = {
      sender: strataClient.as(await strataClient.register(`sender${unique}`)), recipient: both.alice,
      pushkeys: { full: `strata-full-${unique}`, idOnly: `strata-id-${unique}` },
    };
    stories.synapse = {
      sender: synapseClient.as(await synapseClient.registerWithSharedSecret(both.peer.sharedSecret, `sender${unique}`)), recipient: both.bob,
      pushkeys: { full: `synapse-full-${unique}`, idOnly: `synapse-id-${unique}` },
    };
    await Promise.all([tell(stories.strata), tell(stories.synapse)]);
  }, 300_000);

  afterAll(async () => {
    await both?.stop();
    await gateway?.close();
  }, 120_000);

  const pair = async (which: 'full' | 'idOnly', event: 'inviteId' | 'messageId'): Promise<[Body, Body]> => [
    withoutFalseHighlight(await pushed(stories.strata!.pushkeys[which], stories.strata![event]!)),
    withoutFalseHighlight(await pushed(stories.synapse!.pushkeys[which], stories.synapse![event]!)),
  ];

  it('sends an invite of the recipient with the same keys, value types and values as Synapse', async () => {
    const [strata, synapse] = await pair('full', 'inviteId');
    expect(shapeOf(strata)).toEqual(shapeOf(synapse));
    expect(comparable(strata)).toEqual(comparable(synapse));
    expect(strata).toMatchObject({ type: 'm.room.member', membership: 'invite', user_is_target: true, room_name: 'Payloads', sender_display_name: 'Sender' });
  });

  it('sends a message with the same keys, value types and values as Synapse', async () => {
    const [strata, synapse] = await pair('full', 'messageId');
    expect(shapeOf(strata)).toEqual(shapeOf(synapse));
    expect(comparable(strata)).toEqual(comparable(synapse));
    expect(strata).toMatchObject({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'hello' }, room_name: 'Payloads' });
    // `data` without `url`, and the pushkey's time in seconds.
    const device = (strata.devices as Body[])[0]!;
    expect(device.data).toEqual({ extra: 'kept' });
    expect(Math.abs((device.pushkey_ts as number) - Date.now() / 1000)).toBeLessThan(600);
  });

  it('sends a badge update after a read receipt with the same keys, value types and values as Synapse', async () => {
    const badges = async (story: Story): Promise<Body> => {
      const from = gateway.received.length;
      await story.recipient.post(`/rooms/${e((await pushed(story.pushkeys.full, story.messageId!)).room_id as string)}/receipt/m.read/${e(story.messageId!)}`, {});
      const badge = await eventually(
        async () => gateway.received.slice(from).find((entry) => entry.pushkey === story.pushkeys.full && entry.notification.event_id === undefined),
        (entry) => entry !== undefined, `a badge update for ${story.pushkeys.full}`, 45_000,
      );
      return Object.fromEntries(Object.entries(badge!.notification).filter(([key]) => !SYNAPSE_BADGE_ONLY.has(key)));
    };
    const [strata, synapse] = [await badges(stories.strata!), await badges(stories.synapse!)];
    expect(shapeOf(strata)).toEqual(shapeOf(synapse));
    expect(comparable(strata)).toEqual(comparable(synapse));
    expect(strata.counts).toEqual({ unread: 0 });
  });

  it('sends an event_id_only notification with the same keys, value types and values as Synapse', async () => {
    const [strata, synapse] = await pair('idOnly', 'messageId');
    expect(shapeOf(strata)).toEqual(shapeOf(synapse));
    expect(comparable(strata)).toEqual(comparable(synapse));
    expect(Object.keys(strata).sort()).toEqual(['counts', 'devices', 'event_id', 'prio', 'room_id']);
  });

  it('pushes an invite from the other server (a room it is not in) with the same keys, value types and values as Synapse', async () => {
    /** `from`'s sender invites `to`'s recipient, on the other server, into a new named room; its push to the recipient. */
    const inviteAcross = async (from: Story, to: Story): Promise<Body> => {
      const roomId = await from.sender.createRoom({ preset: 'private_chat', name: 'Across' });
      await from.sender.post(`/rooms/${e(roomId)}/invite`, { user_id: to.recipient.userId });
      const chunk = await eventually(async () => (await from.sender.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 5 })).chunk as Body[],
        (events) => events.some((event) => event.type === 'm.room.member' && event.state_key === to.recipient.userId), 'the invite event');
      const inviteId = chunk.find((event) => event.type === 'm.room.member' && event.state_key === to.recipient.userId)!.event_id as string;
      return withoutFalseHighlight(await pushed(to.pushkeys.full, inviteId));
    };
    const strata = await inviteAcross(stories.synapse!, stories.strata!);
    const synapse = await inviteAcross(stories.strata!, stories.synapse!);
    // What differs is each server's invite, not the push: Synapse puts the invitee's display name in
    // its invites' content and the inviter's member event in invite_room_state (so Strata can name
    // the sender); Strata's invites carry neither (the spec's stripped state lists no member event).
    const acrossServers = (notification: Body): Body =>
      Object.fromEntries(Object.entries(notification).filter(([key]) => key !== 'content' && key !== 'sender_display_name'));
    expect(shapeOf(acrossServers(strata))).toEqual(shapeOf(acrossServers(synapse)));
    expect(comparable(acrossServers(strata))).toEqual(comparable(acrossServers(synapse)));
    expect(strata).toMatchObject({
      type: 'm.room.member', membership: 'invite', user_is_target: true, room_name: 'Across', sender_display_name: 'Sender', content: { membership: 'invite' },
    });
    expect(synapse).toMatchObject({ content: { membership: 'invite' } });
  });
});

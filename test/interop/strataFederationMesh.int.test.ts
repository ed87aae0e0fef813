/**
 * Strata ↔ Strata federation on loopback (issue: federation), three servers in one room:
 * - two of them send at once, messages and state changes interleaved, so the room's DAG forks;
 *   every server ends with every message and the same current state (forks resolved alike);
 * - one of them stops while the others send, and comes back on the same data, server name and
 *   port: it ends with every message it missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, type Body, type UserClient } from '../harness/index.ts';
import {
  eventually, holdsAll, joinedMembers, messageBodiesOf, sameStateEverywhere, sameTimelineEverywhere, stateContent,
} from './federationViews.ts';
import { startStrataPeer, type StrataPeer } from './strataPeers.ts';

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

interface Mesh {
  readonly servers: StrataPeer[];
  /** One user per server, in the order of `servers`; the first created the room. */
  readonly users: UserClient[];
  readonly roomId: string;
}

/**
 * Three servers and one user on each, in a public room of the first that the others join by alias;
 * the creator gives the others power level 50 (enough for state changes) and waits until every
 * server sees that.
 */
const startMesh = async (servers: StrataPeer[]): Promise<Mesh> => {
  const users = await Promise.all(servers.map((server, i) => server.register(`user${i}${unique()}`)));
  const [creator, ...others] = users as [UserClient, ...UserClient[]];
  const alias = `mesh${unique()}`;
  const roomId = await creator.createRoom({ preset: 'public_chat', room_alias_name: alias, name: 'mesh' });
  for (const user of others) await user.post(`/join/${e(`#${alias}:${servers[0]!.serverName}`)}`, {});
  const everyone = users.map((user) => user.userId).sort();
  for (const user of users) await eventually(() => joinedMembers(user, roomId), (members) => JSON.stringify(members) === JSON.stringify(everyone), `all members on ${user.userId}'s server`);
  const levels = await stateContent(creator, roomId, 'm.room.power_levels');
  const raised = Object.fromEntries(others.map((user) => [user.userId, 50]));
  await creator.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...(levels.users as Body), ...raised } });
  for (const user of users) {
    await eventually(() => stateContent(user, roomId, 'm.room.power_levels'), (content) => others.every((other) => content.users?.[other.userId] === 50), `raised levels on ${user.userId}'s server`);
  }
  return { servers, users, roomId };
};

const sendAll = (user: UserClient, roomId: string, bodies: readonly string[]): Promise<string[]> =>
  bodies.reduce<Promise<string[]>>(async (sent, body) => [...(await sent), await user.send(roomId, body)], Promise.resolve([]));

describe('three servers sending at once', () => {
  let servers: StrataPeer[] = [];
  let mesh: Mesh | undefined;

  beforeAll(async () => {
    servers = await Promise.all([startStrataPeer(), startStrataPeer(), startStrataPeer()]);
    mesh = await startMesh(servers);
  }, 120_000);
  afterAll(async () => { await Promise.allSettled(servers.map((server) => server.destroy())); }, 60_000);

  it('ends with every message and the same current state on every server', async () => {
    const { users, roomId } = mesh!;
    const [, bee, cee] = users as [UserClient, UserClient, UserClient];
    const fromB = Array.from({ length: 20 }, (_, i) => `B says ${i}`);
    const fromC = Array.from({ length: 20 }, (_, i) => `C says ${i}`);
    await Promise.all([
      // Each state change is its sender's last event: no later event of its sender can mend a
      // receiver that left it out of the current state (a fork it resolved wrongly).
      sendAll(bee, roomId, fromB).then(() => bee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'topic from B' })),
      sendAll(cee, roomId, fromC).then(() => cee.put(`/rooms/${e(roomId)}/state/m.room.name/`, { name: 'name from C' })),
    ]);
    for (const user of users) {
      await eventually(() => messageBodiesOf(user, roomId), (bodies) => holdsAll(bodies, [...fromB, ...fromC]), `all 40 messages on ${user.userId}'s server`, 60_000);
    }
    for (const user of users) {
      await eventually(() => stateContent(user, roomId, 'm.room.topic'), (content) => content.topic === 'topic from B', `B's topic on ${user.userId}'s server`);
      await eventually(() => stateContent(user, roomId, 'm.room.name'), (content) => content.name === 'name from C', `C's name on ${user.userId}'s server`);
    }
    const state = await sameStateEverywhere(users, roomId, 'the same current state on the three servers');
    expect(Object.keys(state).filter((key) => key.startsWith('m.room.member|'))).toHaveLength(3);
    await sameTimelineEverywhere(users, roomId, 'the same events in every server\'s timeline');
  }, 150_000);

  it('resolves concurrent changes of one state key alike everywhere', async () => {
    const { users, roomId } = mesh!;
    const [, bee, cee] = users as [UserClient, UserClient, UserClient];
    for (let round = 0; round < 3; round++) {
      await Promise.all([
        bee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: `B's topic ${round}` }),
        cee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: `C's topic ${round}` }),
      ]);
    }
    await bee.send(roomId, 'after the topic race');
    for (const user of users) {
      await eventually(() => messageBodiesOf(user, roomId), (bodies) => bodies.includes('after the topic race'), `the last message on ${user.userId}'s server`);
    }
    const state = await sameStateEverywhere(users, roomId, 'the same current state on the three servers after the topic race');
    // B and C both may set the topic: whichever wins, one of the last round's topics is the room's.
    const topic = (await stateContent(bee, roomId, 'm.room.topic')).topic as string;
    expect(topic).toMatch(/^(B|C)'s topic 2$/);
    expect(state['m.room.topic|']).toBeDefined();
  }, 150_000);

  it('resolves a demotion racing the demoted user\'s state changes alike everywhere', async () => {
    const { users, roomId } = mesh!;
    const [ay, bee, cee] = users as [UserClient, UserClient, UserClient];
    const levels = await stateContent(ay, roomId, 'm.room.power_levels');
    // C's topic and name in flight while A demotes C. Whether they survive depends on the order
    // servers see them in (state resolution may even leave no name): every server must agree.
    await Promise.all([
      ay.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...(levels.users as Body), [cee.userId]: 0 } }),
      cee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'C races its demotion' })
        .then(() => cee.put(`/rooms/${e(roomId)}/state/m.room.name/`, { name: 'renamed by C as it is demoted' })),
      bee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'B during the demotion' }),
    ]);
    // Servers that soft-failed C's late changes left them out of their forward extremities while
    // C kept them: as in any Matrix room, the forks agree once events cite them all. So each server
    // in turn sends a message that every server has before the next one speaks.
    for (const [i, speaker] of [cee, ay, bee].entries()) {
      await speaker.send(roomId, `after the demotion race ${i}`);
      for (const user of users) {
        await eventually(() => messageBodiesOf(user, roomId), (bodies) => bodies.includes(`after the demotion race ${i}`), `message ${i} after the race on ${user.userId}'s server`);
      }
    }
    for (const user of users) {
      await eventually(() => stateContent(user, roomId, 'm.room.power_levels'), (content) => content.users?.[cee.userId] === 0, `C demoted on ${user.userId}'s server`);
    }
    await sameStateEverywhere(users, roomId, 'the same current state on the three servers after the demotion race');
  }, 150_000);
});

describe('a server that stops while the others send', () => {
  let servers: StrataPeer[] = [];
  let mesh: Mesh | undefined;

  beforeAll(async () => {
    servers = await Promise.all([startStrataPeer(), startStrataPeer(), startStrataPeer()]);
    mesh = await startMesh(servers);
  }, 120_000);
  afterAll(async () => { await Promise.allSettled(servers.map((server) => server.destroy())); }, 60_000);

  it('misses nothing once it is back on the same data, name and port', async () => {
    const { users, roomId } = mesh!;
    const [ay, bee, cee] = users as [UserClient, UserClient, UserClient];
    const serverB = servers[1]!;
    await bee.send(roomId, 'B before stopping');
    await eventually(() => messageBodiesOf(ay, roomId), (bodies) => bodies.includes('B before stopping'), 'B\'s last message on A');
    await serverB.stop();
    const whileDown = [
      ...Array.from({ length: 5 }, (_, i) => `A while B is down ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `C while B is down ${i}`),
    ];
    await Promise.all([sendAll(ay, roomId, whileDown.slice(0, 5)), sendAll(cee, roomId, whileDown.slice(5))]);
    await ay.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'changed while B was down' });
    await serverB.start();
    expect(await joinedMembers(bee, roomId)).toContain(bee.userId);
    await eventually(() => messageBodiesOf(bee, roomId), (bodies) => holdsAll(bodies, whileDown), 'the 10 messages sent while B was down, on B', 60_000);
    await eventually(() => stateContent(bee, roomId, 'm.room.topic'), (content) => content.topic === 'changed while B was down', 'the topic changed while B was down, on B');
    await bee.send(roomId, 'B is back');
    for (const user of [ay, cee]) {
      await eventually(() => messageBodiesOf(user, roomId), (bodies) => bodies.includes('B is back'), `B's message after the restart on ${user.userId}'s server`);
    }
    await sameStateEverywhere(users, roomId, 'the same current state on the three servers after the restart');
    await sameTimelineEverywhere(users, roomId, 'the same events in every server\'s timeline after the restart');
  }, 150_000);

  it('misses nothing of a gap longer than one /get_missing_events answer', async () => {
    const { users, roomId } = mesh!;
    const [ay, bee] = users as [UserClient, UserClient, UserClient];
    const serverB = servers[1]!;
    await serverB.stop();
    // Past 50 events (a transaction) and 20 (one /get_missing_events answer): B, back, is sent
    // the latest event and must fetch the rest in several rounds.
    const whileDown = Array.from({ length: 70 }, (_, i) => `A during a long absence ${i}`);
    await sendAll(ay, roomId, whileDown);
    await serverB.start();
    await eventually(() => messageBodiesOf(bee, roomId), (bodies) => holdsAll(bodies, whileDown), 'the 70 messages on B', 60_000);
    await sameTimelineEverywhere(users, roomId, 'the same events in every server\'s timeline after the long absence');
  }, 150_000);

  it('delivers, once restarted itself, what it could not deliver before it stopped', async () => {
    const { users, roomId } = mesh!;
    const [ay, bee] = users as [UserClient, UserClient, UserClient];
    const [serverA, serverB] = servers as [StrataPeer, StrataPeer, StrataPeer];
    await serverB.stop();
    const undelivered = Array.from({ length: 5 }, (_, i) => `A to an absent B ${i}`);
    await sendAll(ay, roomId, undelivered);
    // A stops with these still owed to B (its catch-up), B comes back, then A: A sends nothing
    // new, so B gets them only from A's catch-up (and what it fetches around it).
    await serverA.stop();
    await serverB.start();
    await serverA.start();
    await eventually(() => messageBodiesOf(bee, roomId), (bodies) => holdsAll(bodies, undelivered), 'A\'s undelivered messages on B', 30_000);
    await sameTimelineEverywhere(users, roomId, 'the same events in every server\'s timeline after both restarts');
  }, 150_000);
});

describe('a state change from a server that missed the latest event (a fork, made on purpose)', () => {
  let servers: StrataPeer[] = [];
  let mesh: Mesh | undefined;

  beforeAll(async () => {
    servers = await Promise.all([startStrataPeer(), startStrataPeer(), startStrataPeer()]);
    mesh = await startMesh(servers);
  }, 120_000);
  afterAll(async () => { await Promise.allSettled(servers.map((server) => server.destroy())); }, 60_000);

  it('is part of the current state on every server once all have all events', async () => {
    const { users, roomId } = mesh!;
    const [ay, bee, cee] = users as [UserClient, UserClient, UserClient];
    const [serverA, , serverC] = servers as [StrataPeer, StrataPeer, StrataPeer];
    // C misses A's message, and A is gone when C comes back: C's topic cites the event before it,
    // so on A and B (which hold the message) the topic forks from their forward extremity.
    await serverC.stop();
    await ay.send(roomId, 'sent while C is down');
    await eventually(() => messageBodiesOf(bee, roomId), (bodies) => bodies.includes('sent while C is down'), 'A\'s message on B');
    await serverA.stop();
    await serverC.start();
    await cee.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'from C, which missed a message' });
    await serverA.start();
    for (const user of users) {
      await eventually(() => messageBodiesOf(user, roomId), (bodies) => bodies.includes('sent while C is down'), `A's message on ${user.userId}'s server`);
      await eventually(() => stateContent(user, roomId, 'm.room.topic'), (content) => content.topic === 'from C, which missed a message', `C's topic on ${user.userId}'s server`);
    }
    await sameStateEverywhere(users, roomId, 'the same current state on the three servers');
  }, 150_000);
});

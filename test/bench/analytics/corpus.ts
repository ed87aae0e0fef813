/**
 * A synthetic room log for `bench analytics` and `bench search`: `pdu.accepted` v2 records exactly
 * as the room writer appends them (keyed by room id, each room's records chained by
 * `prevAcceptedEventId`, state deltas for state events, the decider's redaction judgement), so the
 * rooms, search and analytics projections and the log contract take them as real.
 *
 * Made fast: the projections read a PDU but never check its hashes or signatures (records.ts: the
 * writer checked them on acceptance), so each server signs ONE template event and every event of
 * its users carries that template's `hashes` and `signatures`; event ids are unique hashes of the
 * run's seed and the event's number, in the room version's format. Everything else (room, sender,
 * depth, prev/auth events, content, times) is what a real event of that room would have.
 *
 * The mix: rooms of a long-tail (Zipf) size distribution created on first use (create, the
 * creator's join, power levels, join rules, history visibility, encryption for a fifth of them,
 * names), members joining as they first speak, senders on several servers (local, bridged through
 * an application service's namespace, federated), messages of several msgtypes, replies, edits,
 * threads, reactions, topic changes, redactions; encrypted rooms carry `m.room.encrypted` events.
 * Memory stays bounded: a few ids per room, never the events themselves.
 */
import { createHash } from 'node:crypto';
import {
  buildPdu, roomVersionRules, signingKeyFromSeed,
  type JsonObject, type LocalOrigin, type LogValue, type Pdu, type PduAccepted, type RedactionEffect, type StateChange,
} from '../../../domain/index.ts';
import { createTextSource, zipf, type Zipf } from './words.ts';
import { seededRandom } from '../../harness/seededRandom.ts';

export const CORPUS_ROOM_VERSION = '10';
const RULES = roomVersionRules(CORPUS_ROOM_VERSION)!;

/** Relative weights of what a room's next event is (messages take the rest). */
export interface CorpusMix {
  readonly reaction: number;
  readonly thread: number;
  readonly reply: number;
  readonly edit: number;
  readonly redaction: number;
  readonly topic: number;
  /** Share of rooms that are encrypted (their messages are m.room.encrypted). */
  readonly encryptedRooms: number;
}

/** Roughly what a large deployment's log holds. */
export const ANALYTICS_MIX: CorpusMix = { reaction: 0.06, thread: 0.05, reply: 0.04, edit: 0.01, redaction: 0.006, topic: 0.004, encryptedRooms: 0.2 };
/** Searchable text above all: no encryption, few events without a body. */
export const SEARCH_MIX: CorpusMix = { reaction: 0.01, thread: 0.02, reply: 0.03, edit: 0, redaction: 0.002, topic: 0.002, encryptedRooms: 0 };

export interface CorpusOptions {
  /** Records to produce in all (room set-up included). */
  readonly events: number;
  /** Count only unencrypted messages (search's corpus size) towards `events`, not every record. */
  readonly countMessages?: boolean;
  /** Rooms the Zipf distribution spreads events over (not all may be used in a short run). */
  readonly rooms: number;
  /** Distinct users; about 70% on `serverName` when there are remote servers. */
  readonly senders: number;
  readonly remoteServers: number;
  /** This server's name: its users' events are local (origin in the record). */
  readonly serverName: string;
  /** origin_server_ts of the first and the last event (spread evenly between). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly seed: number;
  readonly mix: CorpusMix;
  /** A local user who joins every room right after its creator: the searcher of `bench search`. */
  readonly memberOfEveryRoom?: string;
}

/** A message with a body and where it went, for loading the same messages into another server. */
export interface CorpusMessage {
  readonly roomRank: number;
  readonly sender: string;
  readonly content: JsonObject;
  readonly ts: number;
}

export interface CorpusRecord {
  readonly key: string;
  readonly value: LogValue;
  readonly headers: Readonly<Record<string, string>>;
  /** Set for an unencrypted m.room.message (search's corpus). */
  readonly message?: CorpusMessage;
}

export interface CorpusStats {
  records: number;
  /** Records with a `message` handed out. */
  messagesHanded: number;
  rooms: number;
  messages: number;
  encrypted: number;
  reactions: number;
  threads: number;
  redactions: number;
  stateEvents: number;
  localEvents: number;
}

/** Users whose localparts start so are the bench bridge's (an application service namespace). */
export const BRIDGED_LOCALPART_PREFIX = 'bridge_';

const hashId = (text: string): string => createHash('sha256').update(text).digest('base64url');

interface RoomCursor {
  readonly rank: number;
  readonly roomId: string;
  readonly base: number;
  readonly members: number;
  readonly encrypted: boolean;
  readonly createId: string;
  readonly powerId: string;
  last: string | null;
  depth: number;
  joined: number;
  topicId: string | null;
  threadRoot: string | undefined;
  /** Unredacted messages of late, targets of reactions, replies, threads and redactions. */
  readonly recent: string[];
}

const RECENT = 8;
const MSGTYPES: readonly (readonly [string, number])[] = [
  ['m.text', 0.88], ['m.image', 0.04], ['m.notice', 0.03], ['m.emote', 0.015], ['m.file', 0.015], ['m.video', 0.01], ['m.audio', 0.01],
];
const REACTION_KEYS = ['👍', '❤️', '😂', '🎉', '👀', '🙏'];
const CIPHER_POOL = createHash('sha512').update('bench').digest('base64').repeat(400);

/**
 * The corpus as a lazy sequence: call `next()` until it returns undefined. Deterministic for a seed.
 */
export const createCorpus = (options: CorpusOptions) => {
  const random = seededRandom(options.seed);
  const text = createTextSource();
  const roomSizes: Zipf = zipf(options.rooms, 1.0);
  const rooms = new Array<RoomCursor | undefined>(options.rooms);
  const span = Math.max(0, options.toMs - options.fromMs);
  const stats: CorpusStats = { records: 0, messagesHanded: 0, rooms: 0, messages: 0, encrypted: 0, reactions: 0, threads: 0, redactions: 0, stateEvents: 0, localEvents: 0 };
  const pending: CorpusRecord[] = [];
  let produced = 0;
  let eventNumber = 0;

  const remoteShare = options.remoteServers > 0 ? 0.3 : 0;
  const serverOfUser = (user: number): string => {
    if (remoteShare === 0 || user % 10 < 7) return options.serverName;
    // A few remote servers hold most remote users.
    const skew = ((user * 0.6180339887) % 1) ** 2;
    return `remote${1 + Math.floor(skew * options.remoteServers)}.example.org`;
  };
  const userIdOf = (user: number): string => {
    const server = serverOfUser(user);
    const bridged = server === options.serverName && user % 20 === 1;
    return `@${bridged ? BRIDGED_LOCALPART_PREFIX : 'user'}${user}:${server}`;
  };
  const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

  // One signed template per server: every event of its users carries its hashes and signatures.
  const templates = new Map<string, { hashes: JsonObject; signatures: JsonObject }>();
  const templateOf = (server: string) => {
    let template = templates.get(server);
    if (template === undefined) {
      const key = signingKeyFromSeed(server, 'ed25519:bench', createHash('sha256').update(`${options.seed}:${server}`).digest());
      const built = buildPdu({
        roomId: `!template:${server}`, sender: `@template:${server}`, type: 'm.room.message', content: { msgtype: 'm.text', body: 'template' },
        originServerTs: options.fromMs, depth: 1, prevEventIds: [], authEventIds: [],
      }, RULES, key);
      template = { hashes: built.pdu.hashes as JsonObject, signatures: built.pdu.signatures as JsonObject };
      templates.set(server, template);
    }
    return template;
  };

  // In message counts, about nine records in ten are messages.
  const expectedRecords = options.countMessages === true ? Math.ceil(options.events / 0.9) : options.events;
  const tsNow = (): number => options.fromMs + Math.min(span, Math.floor((span * produced) / Math.max(1, expectedRecords - 1)));
  const memberEventId = (room: RoomCursor | { rank: number }, k: number): string => `$${hashId(`${options.seed}:member:${room.rank}:${k}`)}`;
  const memberUser = (room: RoomCursor, k: number): number => (room.base + k) % options.senders;

  interface NewEvent {
    readonly sender: string;
    readonly type: string;
    readonly stateKey?: string;
    readonly content: JsonObject;
    readonly eventId?: string;
    readonly redacts?: string;
    readonly replaces?: string | null;
    readonly message?: Omit<CorpusMessage, 'ts'>;
  }

  const emit = (room: RoomCursor, event: NewEvent): string => {
    eventNumber += 1;
    const eventId = event.eventId ?? `$${hashId(`${options.seed}:event:${eventNumber}`)}`;
    const ts = tsNow();
    const server = serverOf(event.sender);
    const template = templateOf(server);
    const isCreate = event.type === 'm.room.create';
    const authEvents = isCreate ? [] : event.type === 'm.room.member' && room.joined === 0
      ? [room.createId] : [room.createId, room.powerId];
    const pdu: Pdu = {
      auth_events: authEvents,
      content: event.content,
      depth: room.depth + 1,
      hashes: template.hashes,
      origin_server_ts: ts,
      prev_events: room.last === null ? [] : [room.last],
      room_id: room.roomId,
      sender: event.sender,
      ...(event.stateKey === undefined ? {} : { state_key: event.stateKey }),
      type: event.type,
      ...(event.redacts === undefined ? {} : { redacts: event.redacts }),
      signatures: template.signatures,
    };
    const local: LocalOrigin | null = server === options.serverName ? { userId: event.sender, deviceId: 'BENCH', txnId: null } : null;
    const stateDelta: StateChange[] = event.stateKey === undefined ? []
      : [{ type: event.type, stateKey: event.stateKey, eventId, replaces: event.replaces ?? null }];
    const redaction: RedactionEffect | null = event.type !== 'm.room.redaction' ? null
      : event.redacts === undefined ? { effect: 'none', reason: 'no target' } : { effect: 'redacts', target: event.redacts };
    const record: PduAccepted = {
      type: 'pdu.accepted', v: 2, roomId: room.roomId, roomVersion: CORPUS_ROOM_VERSION, eventId, pdu, stateDelta,
      prevAcceptedEventId: room.last, forwardExtremities: [eventId], local,
      acceptedAt: ts + (local === null ? 250 : 3), redaction, redactedBy: [],
    };
    room.last = eventId;
    room.depth += 1;
    produced += 1;
    if (event.stateKey !== undefined) stats.stateEvents += 1;
    if (local !== null) stats.localEvents += 1;
    pending.push({
      key: room.roomId, value: record as unknown as LogValue, headers: { type: record.type },
      ...(event.message === undefined ? {} : { message: { ...event.message, ts } }),
    });
    return eventId;
  };

  const join = (room: RoomCursor, userId: string, eventId: string): void => {
    emit(room, { sender: userId, type: 'm.room.member', stateKey: userId, content: { membership: 'join', displayname: userId.slice(1, userId.indexOf(':')) }, eventId });
  };

  const createRoom = (rank: number): RoomCursor => {
    const expected = expectedRecords * roomSizes.share(rank);
    const base = Math.floor(random() * options.senders);
    const creator = userIdOf(base % options.senders);
    const roomId = `!${hashId(`${options.seed}:room:${rank}`).slice(0, 18)}:${serverOf(creator)}`;
    const room: RoomCursor = {
      rank, roomId, base,
      members: Math.max(2, Math.min(options.senders, 2000, Math.round(2 + expected ** 0.6))),
      encrypted: random() < options.mix.encryptedRooms,
      createId: `$${hashId(`${options.seed}:create:${rank}`)}`,
      powerId: `$${hashId(`${options.seed}:power:${rank}`)}`,
      last: null, depth: 0, joined: 0, topicId: null, threadRoot: undefined, recent: [],
    };
    rooms[rank] = room;
    stats.rooms += 1;
    emit(room, { sender: creator, type: 'm.room.create', stateKey: '', content: { creator, room_version: CORPUS_ROOM_VERSION }, eventId: room.createId });
    join(room, creator, memberEventId(room, 0));
    room.joined = 1;
    emit(room, {
      sender: creator, type: 'm.room.power_levels', stateKey: '', eventId: room.powerId,
      content: { users: { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 },
    });
    emit(room, { sender: creator, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' } });
    emit(room, { sender: creator, type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'shared' } });
    if (room.encrypted) emit(room, { sender: creator, type: 'm.room.encryption', stateKey: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } });
    if (random() < 0.5) emit(room, { sender: creator, type: 'm.room.name', stateKey: '', content: { name: text.body(random).slice(0, 60) } });
    if (options.memberOfEveryRoom !== undefined && options.memberOfEveryRoom !== creator) {
      join(room, options.memberOfEveryRoom, `$${hashId(`${options.seed}:searcher:${rank}`)}`);
    }
    return room;
  };

  /** A member to speak: one already in the room, or the next one, who joins first. */
  const speaker = (room: RoomCursor): string => {
    const k = Math.floor(random() * room.members);
    if (k < room.joined) return userIdOf(memberUser(room, k));
    const user = userIdOf(memberUser(room, room.joined));
    join(room, user, memberEventId(room, room.joined));
    room.joined += 1;
    return user;
  };

  const remember = (room: RoomCursor, eventId: string): void => {
    room.recent.push(eventId);
    if (room.recent.length > RECENT) room.recent.shift();
  };
  const recentOf = (room: RoomCursor): string | undefined => room.recent[Math.floor(random() * room.recent.length)];

  const msgtype = (): string => {
    let roll = random();
    for (const [type, share] of MSGTYPES) {
      roll -= share;
      if (roll < 0) return type;
    }
    return 'm.text';
  };

  const messageContent = (room: RoomCursor, sender: string, relation: JsonObject | undefined): JsonObject => {
    const type = msgtype();
    const body = text.body(random);
    let content: JsonObject;
    if (type === 'm.image' || type === 'm.file' || type === 'm.video' || type === 'm.audio') {
      const name = `${body.split(' ')[0]}.${type === 'm.image' ? 'jpg' : type === 'm.video' ? 'mp4' : type === 'm.audio' ? 'ogg' : 'pdf'}`;
      content = {
        msgtype: type, body: name, url: `mxc://${serverOf(sender)}/${hashId(`${options.seed}:media:${eventNumber}`).slice(0, 24)}`,
        info: { size: 10_000 + Math.floor(random() * 5_000_000), mimetype: type === 'm.image' ? 'image/jpeg' : 'application/octet-stream' },
      };
    } else {
      content = { msgtype: type, body };
    }
    if (relation !== undefined) content['m.relates_to'] = relation;
    if (!room.encrypted) return content;
    // Encrypted: ciphertext about as long as the plaintext would be; relations stay in the clear.
    const length = Math.min(CIPHER_POOL.length - 1, 120 + Math.round(JSON.stringify(content).length * 1.37));
    const start = Math.floor(random() * (CIPHER_POOL.length - length));
    return {
      algorithm: 'm.megolm.v1.aes-sha2', ciphertext: CIPHER_POOL.slice(start, start + length), device_id: 'BENCH',
      sender_key: CIPHER_POOL.slice(0, 43), session_id: CIPHER_POOL.slice(43, 86),
      ...(relation === undefined ? {} : { 'm.relates_to': relation }),
    };
  };

  const message = (room: RoomCursor, relation: JsonObject | undefined): void => {
    const sender = speaker(room);
    const content = messageContent(room, sender, relation);
    const type = room.encrypted ? 'm.room.encrypted' : 'm.room.message';
    const eventId = emit(room, { sender, type, content, ...(room.encrypted ? {} : { message: { roomRank: room.rank, sender, content } }) });
    if (room.encrypted) stats.encrypted += 1;
    else stats.messages += 1;
    if (relation?.rel_type === 'm.thread') stats.threads += 1;
    if (relation?.rel_type !== 'm.replace') remember(room, eventId);
  };

  const step = (room: RoomCursor): void => {
    const { mix } = options;
    const target = recentOf(room);
    let roll = random();
    const take = (share: number): boolean => {
      roll -= share;
      return roll < 0;
    };
    if (target !== undefined && take(mix.reaction)) {
      stats.reactions += 1;
      emit(room, {
        sender: speaker(room), type: 'm.reaction',
        content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: REACTION_KEYS[Math.floor(random() * REACTION_KEYS.length)]! } },
      });
    } else if (target !== undefined && take(mix.thread)) {
      if (room.threadRoot === undefined || random() < 0.1) room.threadRoot = target;
      message(room, { rel_type: 'm.thread', event_id: room.threadRoot, is_falling_back: true, 'm.in_reply_to': { event_id: target } });
    } else if (target !== undefined && take(mix.reply)) {
      message(room, { 'm.in_reply_to': { event_id: target } });
    } else if (target !== undefined && take(mix.edit)) {
      message(room, { rel_type: 'm.replace', event_id: target });
    } else if (target !== undefined && take(mix.redaction)) {
      // The creator holds the power to redact anyone's event.
      stats.redactions += 1;
      room.recent.splice(room.recent.indexOf(target), 1);
      if (room.threadRoot === target) room.threadRoot = undefined;
      emit(room, { sender: userIdOf(memberUser(room, 0)), type: 'm.room.redaction', content: { reason: 'spam' }, redacts: target });
    } else if (take(mix.topic)) {
      room.topicId = emit(room, {
        sender: userIdOf(memberUser(room, 0)), type: 'm.room.topic', stateKey: '', content: { topic: text.body(random) }, replaces: room.topicId,
      });
    } else {
      message(room, undefined);
    }
  };

  return {
    stats,
    /** The room of Zipf rank `rank` (0: the largest), created or not. */
    roomIdOf: (rank: number): string | undefined => rooms[rank]?.roomId,
    userIdOf,
    next: (): CorpusRecord | undefined => {
      // Set-up may overshoot the count: the surplus is never handed out (each room's chain stays whole).
      if ((options.countMessages === true ? stats.messagesHanded : stats.records) >= options.events) return undefined;
      while (pending.length === 0) {
        const rank = roomSizes.sample(random);
        const room = rooms[rank];
        if (room === undefined) createRoom(rank);
        else step(room);
      }
      const record = pending.shift()!;
      stats.records += 1;
      if (record.message !== undefined) stats.messagesHanded += 1;
      return record;
    },
  };
};

export type Corpus = ReturnType<typeof createCorpus>;

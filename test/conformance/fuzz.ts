/**
 * Hostile requests generated from the spec's own schemas: for an operation of the client-server
 * OpenAPI, a path with its parameters filled, a query and a JSON body shaped like the request schema
 * — mostly plausible values (real ids of the test world, so requests get past the first checks), with
 * hostile values planted at random: over-long and multi-byte strings, lone surrogates, U+0000,
 * numbers JSON or canonical JSON cannot carry (1e400, 2^53, floats), deep nesting, wrong types,
 * over-long member names, large arrays. Seeded, so a failure replays exactly.
 */
import type { Json, JsonObject } from './refs.ts';
import type { Operation, Parameter } from './openapi.ts';
import { seededRandom } from '../harness/seededRandom.ts';

/** Values of the world the requests run in, by the names parameters and properties go by. */
export interface FuzzWorld {
  readonly userId: string;
  readonly otherUserId: string;
  readonly deviceId: string;
  readonly roomId: string;
  readonly eventId: string;
  readonly roomAlias: string;
  readonly serverName: string;
}

export interface FuzzRequest {
  readonly method: string;
  /** Percent-encoded path with its query. */
  readonly path: string;
  /** The body as sent (raw JSON text, possibly with values JSON.stringify cannot write), or undefined. */
  readonly body: string | undefined;
  /** What was planted, for failure messages. */
  readonly planted: string;
}

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Raw JSON spliced into the body text in place of a marker string (what JSON.stringify cannot write). */
const RAW_VALUES: Readonly<Record<string, string>> = {
  '1e400': '1e400',
  '-1e400': '-1e400',
  'deep 300': `${'['.repeat(300)}${']'.repeat(300)}`,
  'deep 20,000': `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  'deep 2,000 objects': `${'{"a":'.repeat(2_000)}0${'}'.repeat(2_000)}`,
};
const marker = (name: string): string => `\u0001raw:${name}\u0001`;
const MARKER_PATTERN = /"\\u0001raw:([^\\]+)\\u0001"/g;

export class RequestFuzzer {
  readonly #random: () => number;
  readonly #world: FuzzWorld;

  constructor(seed: number, world: FuzzWorld) {
    this.#random = seededRandom(seed);
    this.#world = world;
  }

  #chance(p: number): boolean {
    return this.#random() < p;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }

  #text(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(this.#random() * alphabet.length)];
    return text;
  }

  /**
   * A hostile string: too long, multi-byte at the bound, unencodable, or odd. In a path or query
   * (`inUrl`) at most 3,000 long: a request line over Node's 16 KiB header bound is refused by
   * Node itself (431) before any of Strata runs.
   */
  hostileString(inUrl = false): { value: string; label: string } {
    const choices: [string, () => string][] = [
      ['3,000 random', () => this.#text(3_000, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')],
      ['256 bytes of é', () => 'é'.repeat(128)],
      ...(inUrl ? [] : [['70,000 long', () => this.#text(70_000)] as [string, () => string]]),
      ['lone high surrogate', () => `a\ud800b`],
      ['lone low surrogate', () => '\udfff'],
      ['U+0000', () => 'a\u0000b'],
      ['astral and controls', () => '😀\u202e\u2028\ufeff\uffff\u0007'],
      ['empty', () => ''],
      ['sigils', () => this.#pick(['@', '!', '$', '#', ':', '@:', '!:x', '$%', '#a:', '@a:b:c'])],
      ['path-like', () => this.#pick(['..', '../..', '/', '%2F', '?x=1', '%00', '%'])],
    ];
    const [label, make] = this.#pick(choices);
    return { value: make(), label };
  }

  /** A hostile JSON value of any type (strings from hostileString, raw values through markers). */
  hostileValue(): { value: Json; label: string } {
    const roll = this.#random();
    if (roll < 0.45) return this.hostileString();
    if (roll < 0.65) {
      const name = this.#pick(Object.keys(RAW_VALUES));
      return { value: marker(name), label: name };
    }
    if (roll < 0.8) {
      const value = this.#pick<Json>([2 ** 53, -(2 ** 53), 1.5, -0.25, 1e300, -1, 0, 2 ** 31]);
      return { value, label: `number ${value}` };
    }
    if (roll < 0.9) {
      const value = this.#pick<Json>([null, true, [], {}, [null], { '': '' }, 'string']);
      return { value, label: `wrong type ${JSON.stringify(value)}` };
    }
    if (roll < 0.95) return { value: Array.from({ length: 2_000 }, (_, i) => `item${i}`), label: 'array of 2,000' };
    return { value: { [this.#text(300)]: 1 }, label: 'member name of 300' };
  }

  /** A plausible value for a named thing: real ids of the world where the name says which. */
  #plausibleNamed(name: string): string | undefined {
    const w = this.#world;
    const key = name.toLowerCase();
    if (key === 'userid' || key === 'user_id') return w.userId;
    if (key === 'roomid' || key === 'room_id' || key === 'roomidoralias') return w.roomId;
    if (key === 'eventid' || key === 'event_id') return w.eventId;
    if (key === 'deviceid' || key === 'device_id') return w.deviceId;
    if (key === 'roomalias' || key === 'room_alias') return w.roomAlias;
    if (key === 'eventtype' || key === 'type') return `org.example.fuzz${this.#text(3)}`;
    if (key === 'txnid') return this.#text(12);
    if (key === 'statekey') return this.#pick(['', this.#text(5)]);
    if (key === 'servername' || key === 'server') return w.serverName;
    return undefined;
  }

  #plausibleString(schema: JsonObject, name: string): string {
    const named = this.#plausibleNamed(name);
    if (named !== undefined) return named;
    switch (schema.format) {
      case 'mx-user-id': return this.#pick([this.#world.userId, this.#world.otherUserId]);
      case 'mx-room-id': return this.#world.roomId;
      case 'mx-event-id': return this.#world.eventId;
      case 'mx-room-alias': return this.#world.roomAlias;
      case 'mx-server-name': return this.#world.serverName;
      case 'mx-mxc-uri': return `mxc://${this.#world.serverName}/${this.#text(10)}`;
      case 'uri': return `https://example.org/${this.#text(5)}`;
      default: return this.#text(1 + Math.floor(this.#random() * 10));
    }
  }

  /**
   * A value shaped by a JSON Schema; each leaf becomes hostile with probability `hostility`
   * (the labels of what was planted are pushed to `planted`).
   */
  valueOf(schema: Json | undefined, name: string, hostility: number, planted: string[], depth = 0): Json {
    if (!isObject(schema)) return this.#text(4);
    if (Array.isArray(schema.allOf)) {
      const merged: JsonObject = { ...schema };
      delete merged.allOf;
      for (const part of schema.allOf) {
        if (!isObject(part)) continue;
        for (const [key, value] of Object.entries(part)) {
          merged[key] = key === 'properties' && isObject(merged.properties) && isObject(value) ? { ...merged.properties, ...value } : value;
        }
      }
      return this.valueOf(merged, name, hostility, planted, depth);
    }
    const alternatives = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined;
    if (alternatives !== undefined && alternatives.length > 0) return this.valueOf(this.#pick(alternatives), name, hostility, planted, depth);
    if (this.#chance(hostility)) {
      const hostile = this.hostileValue();
      planted.push(`${name}: ${hostile.label}`);
      return hostile.value;
    }
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return this.#pick(schema.enum);
    if (schema.const !== undefined) return schema.const;
    const type = Array.isArray(schema.type) ? this.#pick(schema.type.filter((t) => t !== 'null')) : schema.type;
    switch (type) {
      case 'string': return this.#plausibleString(schema, name);
      case 'integer': return Math.floor(this.#random() * 1000);
      case 'number': return Math.floor(this.#random() * 1000);
      case 'boolean': return this.#chance(0.5);
      case 'array': {
        if (depth > 5) return [];
        const length = Math.floor(this.#random() * 3);
        return Array.from({ length }, () => this.valueOf(schema.items, name, hostility, planted, depth + 1));
      }
      case 'object':
      default: {
        if (depth > 5) return {};
        const result: JsonObject = {};
        const properties = isObject(schema.properties) ? schema.properties : {};
        const required = new Set(Array.isArray(schema.required) ? schema.required : []);
        for (const [key, propertySchema] of Object.entries(properties)) {
          if (required.has(key) || this.#chance(0.6)) result[key] = this.valueOf(propertySchema, key, hostility, planted, depth + 1);
        }
        const additional = schema.additionalProperties ?? (isObject(schema.patternProperties) ? Object.values(schema.patternProperties)[0] : undefined);
        // An open object (event content, account data): any member, so a hostile one too.
        if (Object.keys(properties).length === 0 && additional === undefined && this.#chance(0.5)) {
          const hostile = this.hostileValue();
          planted.push(`${name} member: ${hostile.label}`);
          result[this.#text(6)] = hostile.value;
        }
        if (isObject(additional) && this.#chance(0.7)) {
          const key = this.#chance(hostility) ? this.hostileString() : { value: this.#plausibleNamed(name) ?? this.#pick([this.#world.userId, this.#world.roomId, this.#world.deviceId, this.#text(6)]), label: '' };
          if (key.label !== '') planted.push(`${name} member name: ${key.label}`);
          result[key.value] = this.valueOf(additional, key.value, hostility, planted, depth + 1);
        }
        return result;
      }
    }
  }

  #parameterValue(parameter: Parameter, hostility: number, planted: string[]): string | undefined {
    if (!parameter.required && !this.#chance(0.5)) return undefined;
    if (this.#chance(hostility)) {
      const hostile = this.hostileString(true);
      planted.push(`${parameter.in} ${parameter.name}: ${hostile.label}`);
      return hostile.value;
    }
    const value = this.valueOf(parameter.schema, parameter.name, 0, planted);
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /** One request for the operation; `hostility` is the chance of each value being hostile. */
  request(operation: Operation, hostility: number): FuzzRequest {
    const planted: string[] = [];
    const values = new Map<string, string>();
    for (const parameter of operation.parameters) {
      const value = this.#parameterValue(parameter, hostility, planted);
      if (value !== undefined) values.set(`${parameter.in}:${parameter.name}`, value);
    }
    // A path value is percent-encoded the usual way, except the path-like hostile ones, sent raw.
    const encode = (value: string): string => (/^(?:\.\.|\.\.\/\.\.|%2F|%00|%)$/.test(value) ? value : encodeSegment(value));
    const path = operation.template.replace(/\{([^}]+)\}/g, (_, name: string) => encode(values.get(`path:${name}`) ?? this.#plausibleNamed(name) ?? this.#text(6)));
    const query = operation.parameters.filter((p) => p.in === 'query' && values.has(`query:${p.name}`))
      .map((p) => `${encodeURIComponent(p.name)}=${encodeSegment(values.get(`query:${p.name}`)!)}`).join('&');
    let body: string | undefined;
    if (operation.requestSchema !== null || (operation.method !== 'GET' && this.#chance(0.2))) {
      const value = this.valueOf(operation.requestSchema ?? {}, 'body', hostility, planted);
      body = JSON.stringify(value).replace(MARKER_PATTERN, (_, name: string) => RAW_VALUES[name] ?? 'null');
    } else if (this.#chance(0.1)) {
      // A body where none is expected: it must be drained or refused, never read as the next request.
      body = JSON.stringify({ pad: this.#text(this.#chance(0.5) ? 100 : 100_000) });
      planted.push('unexpected body');
    }
    return { method: operation.method, path: query === '' ? path : `${path}?${query}`, body, planted: planted.join('; ') };
  }
}

/**
 * Percent-encodes a path segment or query value; a lone surrogate (which encodeURIComponent refuses)
 * is written as the bytes WTF-8 would give it, which are not valid UTF-8.
 */
const encodeSegment = (value: string): string => {
  if (value.isWellFormed()) return encodeURIComponent(value);
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(char);
  }
  return out;
};

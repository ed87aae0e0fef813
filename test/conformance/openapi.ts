/**
 * Checks client-server responses against the spec's OpenAPI definitions
 * (`matrix-spec/data/api/client-server/*.yaml`, OpenAPI 3.1 whose schemas are JSON Schema 2020-12).
 *
 * For a request (method, concrete path, status, JSON body) it finds the operation by its path template
 * (under the file's `servers[0]` basePath, e.g. `/_matrix/client/v3`) and validates the body against
 * that status's `application/json` schema. A status the operation does not document is still checked:
 * an error status against the standard error object (`definitions/errors/error.yaml`, which the spec
 * says every error body is), a success status is a violation on its own.
 */
import { readdirSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { SHARED_DIR } from '../fixtures/sharedDir.ts';
import { inlineRefs, loadDocument, type Json, type JsonObject } from './refs.ts';

export const CLIENT_SERVER_API = new URL('spec/matrix-spec/data/api/client-server/', SHARED_DIR);

export interface Operation {
  readonly method: string;
  /** The full path template, e.g. `/_matrix/client/v3/rooms/{roomId}/join`. */
  readonly template: string;
  readonly operationId: string;
  /** The spec file that defines it, e.g. `joining.yaml`. */
  readonly file: string;
  /** Documented statuses (`"200"`, `"4XX"`, `"default"`) → the JSON body schema, or null when none is given. */
  readonly responses: ReadonlyMap<string, JsonObject | null>;
  /** Whether every `security` alternative needs an access token (no anonymous `{}` alternative). */
  readonly requiresToken: boolean;
  /** Whether the operation takes a JSON request body. */
  readonly takesBody: boolean;
  /** The `application/json` request body schema, `$ref`s inlined (null when there is none). */
  readonly requestSchema: JsonObject | null;
  /** Path and query parameters (path item's and operation's), `$ref`s inlined. */
  readonly parameters: readonly Parameter[];
  readonly matcher: RegExp;
  /** Literal characters in the template: the more, the more specific. */
  readonly specificity: number;
}

export interface Parameter {
  readonly in: 'path' | 'query';
  readonly name: string;
  readonly required: boolean;
  readonly schema: JsonObject;
}

export interface Violation {
  /** Where in the body, e.g. `body.rooms.join["!a:b"].timeline.events[0]`. */
  readonly at: string;
  readonly message: string;
}

export interface ResponseCheck {
  /** Undefined when no operation of the spec matches the method and path. */
  readonly operation: Operation | undefined;
  /** Whether the operation documents this status. */
  readonly documented: boolean;
  readonly violations: readonly Violation[];
}

type Formats = Record<string, RegExp | true>;
/** The spec's own formats (`openapi_extensions.md`, appendices § Identifier grammar), checked loosely. */
const MATRIX_FORMATS: Formats = {
  'mx-user-id': /^@/, 'mx-room-id': /^!/, 'mx-event-id': /^\$/, 'mx-room-alias': /^#/,
  'mx-server-name': /^\S+$/, 'mx-mxc-uri': /^mxc:\/\/[^/]+\/[^/]+$/,
  'mx-unpadded-base64': /^[A-Za-z0-9+/]*$/, 'mx-urlsafe-unpadded-base64': /^[A-Za-z0-9_-]*$/,
  int64: true, float: true,
};

const ERROR_SCHEMA_FILE = 'definitions/errors/error.yaml';
const UIA_SCHEMA_FILE = 'definitions/auth_response.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const basePathOf = (document: JsonObject): string => {
  const servers = document.servers;
  const variables = Array.isArray(servers) && isObject(servers[0]) && isObject(servers[0].variables) ? servers[0].variables : {};
  const basePath = variables.basePath;
  return isObject(basePath) && typeof basePath.default === 'string' ? basePath.default : '';
};

/** `/rooms/{roomId}/state/{eventType}/{stateKey}` → a regex; a parameter may be empty (an empty state key). */
const matcherOf = (template: string): RegExp =>
  new RegExp(`^${template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);

const schemaOf = (response: Json | undefined, base: URL): JsonObject | null => {
  if (response === undefined) return null;
  const inlined = inlineRefs(response, base);
  const content = isObject(inlined) && isObject(inlined.content) ? inlined.content['application/json'] : undefined;
  return isObject(content) && isObject(content.schema) ? content.schema : null;
};

const parametersOf = (lists: readonly (Json | undefined)[], base: URL): Parameter[] =>
  lists.flatMap((list) => (Array.isArray(list) ? list : []))
    .map((parameter) => inlineRefs(parameter, base))
    .filter((parameter): parameter is JsonObject => isObject(parameter) && (parameter.in === 'path' || parameter.in === 'query') && typeof parameter.name === 'string')
    .map((parameter) => ({
      in: parameter.in as 'path' | 'query', name: parameter.name as string, required: parameter.required === true,
      schema: isObject(parameter.schema) ? parameter.schema : {},
    }));

const hasFlows = (body: unknown): boolean => typeof body === 'object' && body !== null && 'flows' in body;

/** `/rooms/join/!a:b/timeline` from Ajv's JSON Pointer → `body.rooms.join["!a:b"].timeline`. */
const readablePath = (pointer: string): string => `body${pointer.split('/').slice(1)
  .map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'))
  .map((token) => /^\d+$/.test(token) ? `[${token}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(token) ? `.${token}` : `[${JSON.stringify(token)}]`)
  .join('')}`;

const describe = (error: ErrorObject): Violation => {
  const params = error.params as Record<string, unknown>;
  const detail = error.keyword === 'additionalProperties' ? ` (${String(params.additionalProperty)})`
    : error.keyword === 'enum' ? ` (${JSON.stringify(params.allowedValues)})` : '';
  return { at: readablePath(error.instancePath), message: `${error.message ?? error.keyword}${detail}` };
};

export class ClientServerSpec {
  readonly operations: readonly Operation[];
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #errorSchema: JsonObject;
  readonly #uiaSchema: JsonObject;

  private constructor(operations: readonly Operation[], errorSchema: JsonObject, uiaSchema: JsonObject) {
    this.operations = operations;
    this.#errorSchema = errorSchema;
    this.#uiaSchema = uiaSchema;
    // strict off: the spec's schemas carry OpenAPI and `x-` keywords Ajv does not know.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    formats.default(this.#ajv, ['uri', 'email']);
    for (const [name, format] of Object.entries(MATRIX_FORMATS)) this.#ajv.addFormat(name, format);
  }

  /** Reads every OpenAPI file under `root` (the client-server folder by default). */
  static load(root: URL = CLIENT_SERVER_API): ClientServerSpec {
    const operations: Operation[] = [];
    for (const file of readdirSync(root).filter((name) => name.endsWith('.yaml')).sort()) {
      const url = new URL(file, root);
      const document = loadDocument(url);
      if (!isObject(document) || !isObject(document.paths)) continue;
      const basePath = basePathOf(document);
      for (const [path, item] of Object.entries(document.paths)) {
        if (!isObject(item)) continue;
        for (const method of METHODS) {
          const operation = item[method];
          if (!isObject(operation)) continue;
          // Trimmed: inviting.yaml spells its path "/rooms/{roomId}/invite " with a trailing space.
          const template = `${basePath}${path.trim()}`;
          const responses = isObject(operation.responses) ? operation.responses : {};
          operations.push({
            method: method.toUpperCase(), template, file,
            operationId: typeof operation.operationId === 'string' ? operation.operationId : `${method} ${template}`,
            responses: new Map(Object.entries(responses).map(([status, response]) => [status, schemaOf(response, url)])),
            requiresToken: Array.isArray(operation.security) && operation.security.length > 0
              && operation.security.every((alternative) => isObject(alternative) && 'accessTokenBearer' in alternative),
            takesBody: isObject(operation.requestBody),
            requestSchema: schemaOf(operation.requestBody, url),
            parameters: parametersOf([item.parameters, operation.parameters], url),
            matcher: matcherOf(template),
            specificity: template.replace(/\{[^}]+\}/g, '').length,
          });
        }
      }
    }
    const definition = (file: string): JsonObject => inlineRefs(loadDocument(new URL(file, root)), new URL(file, root)) as JsonObject;
    return new ClientServerSpec(operations, definition(ERROR_SCHEMA_FILE), definition(UIA_SCHEMA_FILE));
  }

  /** The operation for a concrete request path (query string ignored; path segments as sent, percent-encoded). */
  findOperation(method: string, path: string): Operation | undefined {
    return this.findOperations(method, path)[0];
  }

  /**
   * The most specific operations for the path: usually one, but two files may define the same path
   * (`POST /rooms/{roomId}/invite` is inviteUser in inviting.yaml and inviteBy3PID in
   * third_party_membership.yaml); then the first that documents a status describes the answer.
   */
  findOperations(method: string, path: string): Operation[] {
    const bare = path.split('?')[0]!;
    const match = (candidate: string): Operation[] => {
      const found = this.operations.filter((operation) => operation.method === method.toUpperCase() && operation.matcher.test(candidate));
      const best = Math.max(...found.map((operation) => operation.specificity));
      return found.filter((operation) => operation.specificity === best);
    };
    const found = match(bare);
    // `/state/{eventType}/{stateKey}` with an empty state key may be sent without its trailing slash.
    return found.length > 0 || bare.endsWith('/') ? found : match(`${bare}/`);
  }

  checkResponse(method: string, path: string, status: number, body: unknown): ResponseCheck {
    const keyOf = (candidate: Operation): string | undefined =>
      [String(status), `${String(status)[0]}XX`, 'default'].find((key) => candidate.responses.has(key));
    const operations = this.findOperations(method, path);
    const operation = operations.find((candidate) => keyOf(candidate) !== undefined) ?? operations[0];
    if (operation === undefined) return { operation, documented: false, violations: [] };
    const key = keyOf(operation);
    if (key === undefined) {
      if (status < 400) return { operation, documented: false, violations: [{ at: 'status', message: `${status} is not a documented response of ${operation.operationId}` }] };
      // A 401 with `flows` is a user-interactive auth challenge (§ User-interactive authentication API),
      // which some operations that use it (e.g. /keys/device_signing/upload) leave out of their responses.
      return { operation, documented: false, violations: status === 401 && hasFlows(body) ? this.#validate('uia', this.#uiaSchema, body) : this.#validate('error', this.#errorSchema, body) };
    }
    // A 401 without `flows` is an access-token error (§ Using access tokens), not the UIA challenge
    // that operations using user-interactive auth document as their 401.
    if (status === 401 && !hasFlows(body)) return { operation, documented: true, violations: this.#validate('error', this.#errorSchema, body) };
    const schema = operation.responses.get(key) ?? null;
    if (schema === null) return { operation, documented: true, violations: [] };
    return { operation, documented: true, violations: this.#validate(`${operation.file} ${operation.method} ${operation.template} ${key}`, schema, body) };
  }

  #validate(id: string, schema: JsonObject, body: unknown): Violation[] {
    let validate = this.#validators.get(id);
    if (validate === undefined) {
      validate = this.#ajv.compile(schema);
      this.#validators.set(id, validate);
    }
    if (validate(body)) return [];
    const seen = new Set<string>();
    return (validate.errors ?? []).map(describe).filter((violation) => {
      const text = `${violation.at}: ${violation.message}`;
      return seen.has(text) ? false : (seen.add(text), true);
    });
  }
}

/** One violation per line, for failure messages and reports. */
export const formatViolations = (violations: readonly Violation[]): string =>
  violations.map((violation) => `${violation.at}: ${violation.message}`).join('\n');

/**
 * Loads the spec's YAML files (OpenAPI 3.1 and the JSON Schemas they `$ref`) and inlines every `$ref`,
 * so that one response schema becomes a self-contained JSON Schema for Ajv.
 *
 * A `$ref` is relative to the file that holds it: `definitions/x.yaml`, `../../event-schemas/…`,
 * `#/components/…`, or `file.yaml#/pointer`. A reference cycle (a schema that contains itself) is cut
 * with the permissive schema `{}`: the spec's response schemas do not need recursion to be checked.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const documents = new Map<string, Json>();

/** The parsed YAML (or JSON) document at `url`, read once. */
export const loadDocument = (url: URL): Json => {
  const key = url.href.split('#')[0]!;
  let document = documents.get(key);
  if (document === undefined) {
    document = parse(readFileSync(new URL(key), 'utf8')) as Json;
    documents.set(key, document);
  }
  return document;
};

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows a JSON Pointer (RFC 6901) such as `/components/schemas/x` into `document`. */
const atPointer = (document: Json, pointer: string, where: string): Json => {
  let node: Json | undefined = document;
  for (const raw of pointer.split('/').slice(1)) {
    const token = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) throw new Error(`unresolvable $ref ${where}`);
  }
  return node;
};

/** Keys that only document a schema; beside a `$ref` they need not be kept. */
const DOCUMENTATION = new Set(['description', 'summary', 'title', 'example', 'examples']);

/** Schema keywords whose value maps property names to schemas. */
const PROPERTY_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas']);

/**
 * `node` (found in the document at `base`) with every `$ref` replaced by its target, recursively.
 * `seen` holds the references being expanded on the current path, to cut cycles.
 */
export const inlineRefs = (node: Json, base: URL, seen: ReadonlySet<string> = new Set(), propertyNames = false): Json => {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, base, seen));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    const target = new URL(ref, base);
    if (seen.has(target.href)) return {};
    const resolved = inlineRefs(atPointer(loadDocument(target), target.hash.slice(1), target.href), target, new Set([...seen, target.href]));
    const siblings = Object.entries(node).filter(([key]) => key !== '$ref' && !DOCUMENTATION.has(key));
    if (siblings.length === 0) return resolved;
    const rest = inlineRefs(Object.fromEntries(siblings), base, seen) as JsonObject;
    return { allOf: [resolved], ...rest };
  }
  // Examples are dropped (they may `$ref` example files and are not checked); under `properties` the
  // keys are property names, so an `examples` property stays.
  return Object.fromEntries(Object.entries(node)
    .filter(([key]) => propertyNames || (key !== 'example' && key !== 'examples'))
    .map(([key, value]) => [key, inlineRefs(value, base, seen, !propertyNames && PROPERTY_MAPS.has(key))]));
};

/**
 * Parses a remote server's JSON answer with the limits every inbound request body meets
 * (REQUEST_JSON_CHECKS: nesting, lone surrogates, non-finite numbers, member name length), so that
 * what a remote answers can be handled and stored like what a client sends.
 */
import { REQUEST_JSON_CHECKS, jsonShapeProblem, type JsonValue, type Result } from '../../../domain/index.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const parseJsonBytes = (bytes: Uint8Array): Result<JsonValue> => {
  let value: JsonValue;
  try {
    value = JSON.parse(utf8.decode(bytes)) as JsonValue;
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const problem = jsonShapeProblem(value, REQUEST_JSON_CHECKS);
  return problem === undefined ? { ok: true, value } : { ok: false, error: `unacceptable JSON: ${problem.reason}` };
};

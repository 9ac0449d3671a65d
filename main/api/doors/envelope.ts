// The one answer shape of every door: `{result}` or `{error}` (the error registry's JSON), and
// for answers that come in parts (progress events, stream items) the same objects one per line
// (NDJSON): `{progress}` and `{item}` lines, then a `{result}` or `{error}` line. Browser-safe.
import { ServiceError, errorFromJSON, toDlhubError, type ErrorJSON } from '../../errors.js';
import { fromWire, toWire } from '../codec.js';

/** The media type of answers sent in parts. */
export const NDJSON = 'application/x-ndjson';

/** One line of an answer in parts, or a whole answer. */
export type EnvelopeLine = { result: unknown } | { error: ErrorJSON } | { progress: unknown } | { item: unknown };

/** `{result}` as JSON text, the value through the codec. */
export function resultText(value: unknown): string {
  return JSON.stringify({ result: toWire(value) });
}

/** `{item}` as JSON text, the value through the codec. */
export function itemText(value: unknown): string {
  return JSON.stringify({ item: toWire(value) });
}

/** `{error}` as JSON text: any thrown value becomes a typed error first; never throws. */
export function errorText(err: unknown): string {
  const e = toDlhubError(err);
  try {
    return JSON.stringify({ error: e.toJSON() });
  } catch {
    // Details that JSON cannot carry (a cycle, a BigInt) are left out rather than lost with the error.
    return JSON.stringify({ error: { code: e.code, name: e.name, message: e.message, hint: e.hint } });
  }
}

/** The answer inside an envelope: its value through the codec, or its error rebuilt as the same typed class and thrown. */
export function openEnvelope(envelope: unknown): unknown {
  const e = envelope as { result?: unknown; error?: ErrorJSON } | null;
  if (typeof e !== 'object' || e === null || (!('result' in e) && !e.error)) {
    throw new ServiceError('SERVICE_UNAVAILABLE', 'The service answered something that is not a dlhub answer (no "result" or "error").', { hint: 'Check that the address points at `dlhub serve`.' });
  }
  if (e.error) throw errorFromJSON(e.error);
  return fromWire(e.result);
}

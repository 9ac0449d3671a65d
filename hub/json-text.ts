// An answer that carries its own JSON text: the change feed splices each version's stored metadata
// text into the page instead of parsing it and writing it out again, which was most of a page's cost.
// The value stays a whole answer for callers in this process; the door sends the text.

const TEXT = Symbol('json text');

/** `value`, which the door sends as `text()` (the same JSON) instead of serializing it. */
export function withJsonText<T extends object>(value: T, text: () => string): T {
  Object.defineProperty(value, TEXT, { value: text, enumerable: false });
  return value;
}

/** The JSON text an answer carries, if it carries one. */
export function jsonTextOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const text = (value as { [TEXT]?: () => string })[TEXT];
  return typeof text === 'function' ? text() : undefined;
}

/**
 * `value` as JSON with null at `key` replaced by `json` (already JSON text). The first `"key":null`
 * in the text is taken: a quote inside a JSON string is always escaped, so no string value can hold
 * it, and callers put `key` before any nested object.
 */
export function spliceJson(value: object, key: string, json: string): string {
  const text = JSON.stringify(value);
  const marker = `${JSON.stringify(key)}:null`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no ${key} to fill in`);
  return `${text.slice(0, at + marker.length - 4)}${json}${text.slice(at + marker.length)}`;
}

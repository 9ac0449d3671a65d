import { MetadataError } from '../errors.js';
import type { MetadataProblem } from '../errors.js';

/**
 * Deepest nesting of objects and arrays a catalog record may have. DLHub records nest about ten levels
 * (servable.methods.run.input.items.properties...); one of thousands of levels made `catalog export`
 * throw a RangeError from JSON.stringify, so such a record is refused when it comes in.
 */
export const MAX_RECORD_DEPTH = 64;

// Nesting depth of a JSON text, counting brackets outside strings; stops as soon as it passes `limit`.
function textDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

// Nesting depth of a parsed value, walked with an explicit stack so a deep value cannot overflow ours.
function valueDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d > max && (max = d) > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}

function depthProblem(depth: number): MetadataProblem {
  return {
    field: '(record)', rule: 'maxDepth',
    message: `nested more than ${MAX_RECORD_DEPTH} levels deep (found ${depth} before stopping); the limit is ${MAX_RECORD_DEPTH}`,
    fix: `flatten the record: objects and arrays may nest at most ${MAX_RECORD_DEPTH} levels`,
  };
}

/** Refuse a record (a JSON text, or a parsed value) nested deeper than MAX_RECORD_DEPTH; `source` names it (e.g. "line 12"). */
export function checkRecordDepth(record: unknown, source?: string): void {
  const depth = typeof record === 'string' ? textDepth(record, MAX_RECORD_DEPTH) : valueDepth(record, MAX_RECORD_DEPTH);
  if (depth <= MAX_RECORD_DEPTH) return;
  const problem = depthProblem(depth);
  throw new MetadataError(`${source ? `${source}: ` : ''}record ${problem.message}`, [problem], `Flatten the record: objects and arrays may nest at most ${MAX_RECORD_DEPTH} levels.`);
}

import { hash } from 'node:crypto';
import canonicalizeCjs from 'canonicalize';
import { InputError } from '../errors.js';

/** What a memo key is made of: which code ran, which method, and the encoded input. */
export interface MemoKeyParts {
  /** Image digest (Docker) or content digest (host): changes whenever the servable's code or environment does. */
  digest: string;
  method: string;
  /** Encoded input: JSON that references raw binary buffers by index. */
  input: { json: unknown; buffers: readonly Buffer[] };
}

// The package's types declare an ES default export, but it is CommonJS: at runtime the default import is the function itself.
const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;

// Every part is length-prefixed so no two different (digest, method, input) triples can share a byte stream.
const VERSION = Buffer.from('dlhub-memo-key-v1\0');

/** sha256 over digest, method and the RFC 8785 canonical input, so key order and number spelling do not matter. */
export function memoKey(parts: MemoKeyParts): Buffer {
  // One buffer hashed in one call: a Hash object fed piece by piece costs several µs more per run.
  const chunks: Buffer[] = [VERSION];
  withLength(chunks, Buffer.from(parts.digest, 'utf8'));
  withLength(chunks, Buffer.from(parts.method, 'utf8'));
  withLength(chunks, Buffer.from(canonicalJson(parts.input.json), 'utf8'));
  chunks.push(u64(parts.input.buffers.length));
  for (const buf of parts.input.buffers) withLength(chunks, buf);
  return hash('sha256', Buffer.concat(chunks), 'buffer');
}

function canonicalJson(json: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(json);
  } catch (err) {
    throw new InputError('INPUT_INVALID', `Input cannot be written as JSON: ${(err as Error).message}.`, {
      hint: 'Replace NaN and Infinity in the input with null or a finite number.',
      cause: err,
    });
  }
  // No canonical JSON text is empty, so an absent input cannot collide with any present one.
  return text ?? '';
}

function withLength(chunks: Buffer[], bytes: Buffer): void {
  chunks.push(u64(bytes.length), bytes);
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

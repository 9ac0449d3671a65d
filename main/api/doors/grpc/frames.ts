// What travels in the `data` field of stream.proto's Request and Response: JSON text (the source
// document's instruments send `{"key": n, "data": "<base64 image>"}`) or raw bytes, as the servable's
// method declares. Pure functions, no I/O.
import { InputError, toDlhubError } from '../../../errors.js';
import type { MethodMetadata } from '../../../servable/metadata.js';
import { fromWire, toWire } from '../../codec.js';
import { statusName, GRPC_STATUS } from './status.js';
import { status as Status } from '@grpc/grpc-js';

/**
 * How a servable's frames are read and answered. `bytes` in: the frame reaches the model as Python
 * `bytes` (input declared `{"type": "python object", "python_type": "bytes"}`); else the frame is
 * JSON. `bytes` out: a bytes output is answered as it is (output declared the same way); else the
 * answer is JSON.
 */
export interface FrameModes {
  input: 'json' | 'bytes';
  output: 'json' | 'bytes';
}

/** The frame modes a method declares. */
export function frameModes(method: MethodMetadata | undefined): FrameModes {
  const isBytes = (t: MethodMetadata['input']): boolean => t?.python_type === 'bytes' && (t.type === 'python object' || t.type === 'string');
  return { input: isBytes(method?.input) ? 'bytes' : 'json', output: isBytes(method?.output) ? 'bytes' : 'json' };
}

/** One decoded frame: the model's input, and the `key` it carried (echoed in its answer). */
export interface DecodedFrame {
  input: unknown;
  key?: unknown;
}

/**
 * The model input in a frame. JSON frames go through the door codec, so `{"$bytes": base64}` and
 * `{"$ndarray": …}` arrive as bytes and arrays, as on the HTTP door. A frame that is not JSON is INPUT_INVALID.
 */
export function decodeFrame(data: Uint8Array, mode: FrameModes['input']): DecodedFrame {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (mode === 'bytes') return { input: bytes };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError('INPUT_INVALID', `A data frame is not JSON: ${(err as Error).message}.`, {
      hint: 'Send each frame as UTF-8 JSON text (e.g. json.dumps({"key": n, "data": ...}).encode()), or declare the method\'s input as bytes.',
    });
  }
  const input = fromWire(parsed);
  const key = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)['key'] : undefined;
  return key === undefined ? { input } : { input, key };
}

/** The answer to one frame: the output as it is (bytes mode, a bytes output) or `{"key", "output"}` JSON. */
export function encodeAnswer(output: unknown, key: unknown, mode: FrameModes['output']): Buffer {
  if (mode === 'bytes' && output instanceof Uint8Array) return Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  return Buffer.from(JSON.stringify(key === undefined ? { output: toWire(output) } : { key, output: toWire(output) }));
}

/**
 * The answer to one frame whose model call failed, so the stream goes on:
 * `{"key", "error": {"status": "INTERNAL", "code": "MODEL_ERROR", "message", "hint"}}`, the status
 * being the gRPC status the same error ends a call with.
 */
export function encodeFrameError(err: unknown, key: unknown): Buffer {
  const e = toDlhubError(err);
  const error = { status: statusName(GRPC_STATUS[e.code] ?? Status.INTERNAL), code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return Buffer.from(JSON.stringify(key === undefined ? { error } : { key, error }));
}

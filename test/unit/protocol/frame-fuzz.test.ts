import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkerError } from '../../../main/errors.js';
import { encodeFrame, FrameDecoder, type Frame } from '../../../main/runtime/protocol/frame.js';

// Fuzzing the host's frame reader: any byte stream either decodes or fails with a typed
// PROTOCOL_ERROR; it never hangs, and never holds more than one frame's worth of bytes.

const MAX = 4096;

/** Split `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    parts.push(bytes.subarray(start, p));
    start = p;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

/** Push every chunk; returns the frames, or the error the decoder threw (it must be typed). */
function feed(decoder: FrameDecoder, chunks: Buffer[]): { frames: Frame[]; error: unknown } {
  const frames: Frame[] = [];
  try {
    for (const chunk of chunks) {
      frames.push(...decoder.push(chunk));
      // Bytes held while a frame is incomplete never exceed one frame plus the chunk that brought them.
      expect(decoder.pending).toBeLessThanOrEqual(MAX + 4 + chunk.length);
    }
    return { frames, error: undefined };
  } catch (error) {
    return { frames, error };
  }
}

function expectProtocolError(error: unknown): void {
  expect(error).toBeInstanceOf(WorkerError);
  expect((error as WorkerError).code).toBe('PROTOCOL_ERROR');
}

const header = fc.record({ id: fc.nat(), op: fc.constantFrom('run', 'hello'), text: fc.string({ maxLength: 40 }) });
const buffers = fc.array(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), { maxLength: 4 });
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('frame reader fuzzing', () => {
  it('decodes any sequence of valid frames split at any chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(header, buffers), { minLength: 1, maxLength: 6 }), cuts, (items, at) => {
        const frames = items.map(([h, b]) => encodeFrame(h, b, MAX));
        const { frames: got, error } = feed(new FrameDecoder(MAX), split(Buffer.concat(frames), at));
        expect(error).toBeUndefined();
        expect(got.map((f) => f.header['id'])).toEqual(items.map(([h]) => h.id));
        got.forEach((f, i) => {
          expect(f.header['text']).toBe(items[i]?.[0].text);
          expect(f.buffers.map((b) => b.toString('hex'))).toEqual(items[i]?.[1].map((b) => b.toString('hex')));
          expect(f.bytes.equals(frames[i]!)).toBe(true);
        });
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it('answers random byte streams with frames or a PROTOCOL_ERROR, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), cuts, (bytes, at) => {
        const { error } = feed(new FrameDecoder(MAX), split(Buffer.from(bytes), at));
        if (error !== undefined) expectProtocolError(error);
      }),
      { numRuns: 500, seed: 9 },
    );
  });

  it('refuses mutated frames (length fields, header bytes, buffer lists) with a PROTOCOL_ERROR', () => {
    const mutation = fc.oneof(
      // Overwrite the total length, the header length, or a byte of the header.
      fc.record({ kind: fc.constant('len' as const), value: fc.nat({ max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('headerLen' as const), value: fc.nat({ max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('byte' as const), value: fc.nat(), byte: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), value: fc.nat() }),
      // A header that claims buffers the frame does not carry, or of the wrong type.
      fc.record({ kind: fc.constant('buffers' as const), lengths: fc.array(fc.oneof(fc.integer({ min: -5, max: 300 }), fc.string(), fc.double()), { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(header, buffers, mutation, cuts, (h, b, m, at) => {
        let frame: Buffer = encodeFrame(h, b, MAX);
        if (m.kind === 'len') frame.writeUInt32BE(m.value, 0);
        else if (m.kind === 'headerLen') frame.writeUInt32BE(m.value, 4);
        else if (m.kind === 'byte') frame[8 + (m.value % (frame.length - 8))] = m.byte;
        else if (m.kind === 'truncate') frame = frame.subarray(0, m.value % frame.length);
        else {
          const json = Buffer.from(JSON.stringify({ ...h, buffers: m.lengths }));
          const data = Buffer.concat(b);
          frame = Buffer.alloc(8 + json.length + data.length);
          frame.writeUInt32BE(4 + json.length + data.length, 0);
          frame.writeUInt32BE(json.length, 4);
          json.copy(frame, 8);
          data.copy(frame, 8 + json.length);
        }
        const { frames, error } = feed(new FrameDecoder(MAX), split(frame, at));
        if (error !== undefined) expectProtocolError(error);
        // Whatever decoded is a well-formed frame: buffers that fit inside it.
        for (const f of frames) {
          expect(typeof f.header).toBe('object');
          expect(f.buffers.reduce((n, x) => n + x.length, 0)).toBeLessThanOrEqual(f.bytes.length);
        }
      }),
      { numRuns: 1000, seed: 9 },
    );
  });

  it('refuses a 4 GB length prefix before buffering anything behind it', () => {
    const decoder = new FrameDecoder();
    const prefix = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    let error: unknown;
    try {
      // The prefix arrives alone, then in two halves on a fresh decoder: both are refused at once.
      decoder.push(prefix);
    } catch (e) {
      error = e;
    }
    expectProtocolError(error);
    expect((error as WorkerError).message).toContain('4294967295 bytes is larger than the limit');
    const halves = new FrameDecoder();
    expect(halves.push(prefix.subarray(0, 2))).toEqual([]);
    expect(() => halves.push(prefix.subarray(2))).toThrow(WorkerError);
  });
});

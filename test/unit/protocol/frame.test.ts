import { describe, expect, it, vi } from 'vitest';
import { WorkerError } from '../../../main/errors.js';
import { decodeFrame, encodeFrame, FrameDecoder } from '../../../main/runtime/protocol/frame.js';

describe('runner frames', () => {
  it('lays a frame out as len | header_len | header | buffers', () => {
    const frame = encodeFrame({ id: 1, op: 'run' }, [Buffer.from('ab'), Buffer.from('cde')]);
    const header = JSON.stringify({ id: 1, op: 'run', buffers: [2, 3] });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.readUInt32BE(4)).toBe(Buffer.byteLength(header));
    expect(frame.toString('utf8', 8, 8 + Buffer.byteLength(header))).toBe(header);
    expect(frame.subarray(frame.length - 5).toString()).toBe('abcde');
    const back = decodeFrame(frame);
    expect(back.header).toEqual({ id: 1, op: 'run', buffers: [2, 3] });
    expect(back.buffers.map((b) => b.toString())).toEqual(['ab', 'cde']);
  });

  it('omits header.buffers when there are none', () => {
    const frame = encodeFrame({ id: 7, op: 'hello', protocol: 1 });
    expect(decodeFrame(frame).header).toEqual({ id: 7, op: 'hello', protocol: 1 });
  });

  it('decodes a frame split into one-byte chunks', () => {
    const frame = encodeFrame({ id: 2, text: 'héllo' }, [Buffer.alloc(1000, 7)]);
    const decoder = new FrameDecoder();
    const got = [];
    for (let i = 0; i < frame.length; i++) got.push(...decoder.push(frame.subarray(i, i + 1)));
    expect(got).toHaveLength(1);
    expect(got[0]?.header['text']).toBe('héllo');
    expect(got[0]?.buffers[0]?.equals(Buffer.alloc(1000, 7))).toBe(true);
    expect(decoder.pending).toBe(0);
  });

  it('decodes several frames in one chunk, and a chunk that ends mid-frame', () => {
    const frames = [1, 2, 3].map((id) => encodeFrame({ id }, [Buffer.from([id])]));
    const all = Buffer.concat(frames);
    const cut = (frames[0]?.length ?? 0) + (frames[1]?.length ?? 0) + 3;
    const decoder = new FrameDecoder();
    const first = decoder.push(all.subarray(0, cut));
    expect(first.map((f) => f.header['id'])).toEqual([1, 2]);
    const rest = decoder.push(all.subarray(cut));
    expect(rest.map((f) => f.header['id'])).toEqual([3]);
    expect(rest[0]?.buffers[0]?.[0]).toBe(3);
    expect(rest[0]?.bytes.equals(frames[2]!)).toBe(true);
  });

  it('joins a large frame arriving in many chunks with one copy, not one per chunk', () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 1);
    const frame = encodeFrame({ id: 1 }, [big]);
    const decoder = new FrameDecoder();
    // A decoder that re-copied its queue on every chunk would copy ~512 times the frame here (1024 chunks).
    const concat = vi.spyOn(Buffer, 'concat');
    const got = [];
    let copied = 0;
    try {
      for (let i = 0; i < frame.length; i += 64 * 1024) got.push(...decoder.push(frame.subarray(i, i + 64 * 1024)));
      copied = concat.mock.calls.reduce((n, [list]) => n + list.reduce((m, b) => m + b.length, 0), 0);
    } finally {
      concat.mockRestore();
    }
    expect(got).toHaveLength(1);
    expect(got[0]?.buffers[0]?.equals(big)).toBe(true);
    expect(copied).toBe(frame.length);
    expect(decoder.pending).toBe(0);
  });

  it('rejects a frame over the size limit as soon as its length arrives', () => {
    const decoder = new FrameDecoder(1024);
    const frame = encodeFrame({ id: 1 }, [Buffer.alloc(2048)]);
    let err: unknown;
    try {
      decoder.push(frame.subarray(0, 6));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).code).toBe('PROTOCOL_ERROR');
    expect((err as WorkerError).message).toContain('larger than the limit of 1024 bytes');
    expect(() => encodeFrame({ id: 1 }, [Buffer.alloc(2048)], 1024)).toThrow(/larger than the limit/);
  });

  it('rejects a header that is not JSON, or buffer lengths that do not add up', () => {
    const header = Buffer.from('{nope');
    const bad = Buffer.alloc(8 + header.length);
    bad.writeUInt32BE(4 + header.length, 0);
    bad.writeUInt32BE(header.length, 4);
    header.copy(bad, 8);
    expect(() => new FrameDecoder().push(bad)).toThrow(/header is not JSON/);
    const lying = encodeFrame({ id: 1, buffers: [5] });
    expect(() => decodeFrame(lying)).toThrow(/does not fit in the frame/);
  });
});

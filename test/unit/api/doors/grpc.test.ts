// The gRPC door's pure parts: stream tokens, data frames, the --grpc address and the status table.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { status as Status } from '@grpc/grpc-js';
import { TokenSigner } from '../../../../main/api/doors/grpc/tokens.js';
import { decodeFrame, encodeAnswer, encodeFrameError, frameModes } from '../../../../main/api/doors/grpc/frames.js';
import { isLoopback, parseGrpcAddress } from '../../../../main/api/doors/grpc/address.js';
import { GRPC_STATUS } from '../../../../main/api/doors/grpc/status.js';
import { DlhubError, InputError, ModelError, UsageError } from '../../../../main/errors.js';
import { NdArray } from '../../../../main/runtime/protocol/values.js';

describe('stream tokens', () => {
  it('carry the user and servable they were issued for, until they expire', () => {
    let now = 1_000_000;
    const signer = new TokenSigner(60_000, () => now);
    const { token } = signer.issue('alice', 'iris');
    expect(signer.verify(token)).toEqual({ grant: { user: 'alice', model: 'iris', expiresAt: 1_060_000 } });
    now += 59_999;
    expect('grant' in signer.verify(token)).toBe(true);
    now += 1;
    expect(signer.verify(token)).toEqual({ problem: 'expired' });
  });

  it('are refused when changed in any way, or issued by another service start', () => {
    const signer = new TokenSigner(60_000);
    const { token } = signer.issue('alice', 'iris');
    const [prefix, payload, sig] = token.split('.') as [string, string, string];
    const other = Buffer.from(JSON.stringify(['mallory', 'iris', Date.now() + 1e9])).toString('base64url');
    expect(signer.verify(`${prefix}.${other}.${sig}`)).toEqual({ problem: 'forged' });
    expect(new TokenSigner(60_000).verify(token)).toEqual({ problem: 'forged' });
    expect(signer.verify(`${payload}.${sig}`)).toEqual({ problem: 'malformed' });
    expect(signer.verify('')).toEqual({ problem: 'malformed' });
  });

  it('never throw on arbitrary text', () => {
    const signer = new TokenSigner(60_000);
    fc.assert(fc.property(fc.string(), (text) => 'problem' in signer.verify(text)));
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => 'problem' in signer.verify(`dlg1.${a}.${b}`)));
  });
});

describe('data frames', () => {
  it('are JSON by default, with the key echoed in the answer', () => {
    const modes = frameModes({ input: { type: 'python object' } });
    expect(modes).toEqual({ input: 'json', output: 'json' });
    const frame = decodeFrame(Buffer.from(JSON.stringify({ key: 7, data: 'aGVsbG8=' })), modes.input);
    expect(frame).toEqual({ input: { key: 7, data: 'aGVsbG8=' }, key: 7 });
    expect(JSON.parse(encodeAnswer([1, 2], frame.key, modes.output).toString())).toEqual({ key: 7, output: [1, 2] });
    expect(JSON.parse(encodeAnswer(3, undefined, modes.output).toString())).toEqual({ output: 3 });
  });

  it('carry bytes and arrays in the door codec form', () => {
    expect(decodeFrame(Buffer.from('{"$bytes":"aGk="}'), 'json').input).toEqual(Buffer.from('hi'));
    const answer = JSON.parse(encodeAnswer(new NdArray('uint8', [2], Buffer.from([1, 2])), undefined, 'json').toString());
    expect(answer).toEqual({ output: { $ndarray: { dtype: 'uint8', shape: [2], data: 'AQI=' } } });
  });

  it('are raw bytes where the method declares bytes', () => {
    const modes = frameModes({ input: { type: 'python object', python_type: 'bytes' }, output: { type: 'python object', python_type: 'bytes' } });
    expect(modes).toEqual({ input: 'bytes', output: 'bytes' });
    const raw = Buffer.from([0, 255, 10]);
    expect(decodeFrame(raw, 'bytes')).toEqual({ input: raw });
    expect(encodeAnswer(Buffer.from('out'), undefined, 'bytes').toString()).toBe('out');
    // A bytes method that answers something else still answers JSON.
    expect(JSON.parse(encodeAnswer(1.5, undefined, 'bytes').toString())).toEqual({ output: 1.5 });
  });

  it('that are not JSON are INPUT_INVALID, never another kind of error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeFrame(Buffer.from(bytes), 'json');
          return true;
        } catch (err) {
          return err instanceof DlhubError && (err.code === 'INPUT_INVALID' || err.code === 'LIMIT_EXCEEDED');
        }
      }),
    );
    expect(() => decodeFrame(Buffer.from('{"key": 1,'), 'json')).toThrow(InputError);
  });

  it('answer a failed call in its place with the status, code and message', () => {
    const err = new ModelError('ValueError', 'negative input', 'Traceback: ...');
    expect(JSON.parse(encodeFrameError(err, 3).toString())).toMatchObject({ key: 3, error: { status: 'INTERNAL', code: 'MODEL_ERROR', message: 'ValueError: negative input' } });
    expect(JSON.parse(encodeFrameError(new InputError('INPUT_INVALID', 'bad'), undefined).toString())).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
  });
});

describe('--grpc address', () => {
  it('takes a port (loopback) or HOST:PORT', () => {
    expect(parseGrpcAddress('9010')).toEqual({ host: '127.0.0.1', port: 9010 });
    expect(parseGrpcAddress('0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseGrpcAddress('0.0.0.0:9010')).toEqual({ host: '0.0.0.0', port: 9010 });
    expect(parseGrpcAddress('[::1]:9010')).toEqual({ host: '::1', port: 9010 });
    for (const raw of ['', 'x', '99999', '1.2.3.4:', ':80:']) expect(() => parseGrpcAddress(raw), raw).toThrow(UsageError);
  });

  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', 'localhost', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '127.0.0.1.example.org']) expect(isLoopback(h), h).toBe(false);
  });
});

describe('gRPC status of errors', () => {
  it('follows what instruments switch on', () => {
    expect(GRPC_STATUS.UNAUTHORIZED).toBe(Status.UNAUTHENTICATED);
    expect(GRPC_STATUS.SERVABLE_NOT_FOUND).toBe(Status.NOT_FOUND);
    expect(GRPC_STATUS.INPUT_TOO_LARGE).toBe(Status.RESOURCE_EXHAUSTED);
    expect(GRPC_STATUS.MODEL_ERROR).toBe(Status.INTERNAL);
    expect(GRPC_STATUS.FORBIDDEN).toBe(Status.PERMISSION_DENIED);
    expect(GRPC_STATUS.BUSY).toBe(Status.UNAVAILABLE);
  });
});

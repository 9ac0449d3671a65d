// `dlhub serve --http HOST:PORT` listens on loopback only unless forced.
import { describe, expect, it } from 'vitest';
import { parseHttpAddress } from '../../../main/cli/commands/serve.js';
import { UsageError } from '../../../main/errors.js';

describe('--http address', () => {
  it('takes loopback addresses, IPv6 in brackets, and port 0', () => {
    expect(parseHttpAddress('127.0.0.1:8765', false)).toEqual({ host: '127.0.0.1', port: 8765 });
    expect(parseHttpAddress('localhost:0', false)).toEqual({ host: 'localhost', port: 0 });
    expect(parseHttpAddress('[::1]:9000', false)).toEqual({ host: '[::1]', port: 9000 });
    expect(parseHttpAddress('127.4.5.6:80', false)).toEqual({ host: '127.4.5.6', port: 80 });
  });

  it('refuses every other address unless --http-allow-remote, naming the flag', () => {
    for (const raw of ['0.0.0.0:8765', '192.168.1.10:80', '[::]:8765', 'example.org:80', '127.0.0.1.evil.com:80']) {
      let err: unknown;
      try {
        parseHttpAddress(raw, false);
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(UsageError);
      expect((err as UsageError).hint, raw).toContain('--http-allow-remote');
    }
    expect(parseHttpAddress('0.0.0.0:8765', true)).toEqual({ host: '0.0.0.0', port: 8765 });
  });

  it('refuses malformed addresses', () => {
    for (const raw of ['8765', '127.0.0.1', '127.0.0.1:99999', 'a:b', '']) expect(() => parseHttpAddress(raw, false), raw).toThrow(/HOST:PORT/);
  });
});

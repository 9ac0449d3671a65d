import { UsageError } from '../../../errors.js';

/** Whether `host` names this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Parse `--grpc`: `PORT` (on 127.0.0.1) or `HOST:PORT` (IPv6 in brackets); PORT 0 picks a free one. */
export function parseGrpcAddress(raw: string): { host: string; port: number } {
  const text = raw.trim();
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError('USAGE', `--grpc takes PORT or HOST:PORT, such as 9010 or 127.0.0.1:9010, not "${raw}".`, { hint: 'Use --grpc 9010 (loopback) or --grpc 0 for a free port.' });
  }
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '').toLowerCase(), port };
}

/** Why the door will not listen beyond loopback in clear text, and what to do instead. */
export function insecureRemote(host: string): UsageError {
  return new UsageError('USAGE', `The gRPC door would listen on ${host} without TLS: account passwords, tokens and every frame would cross the network in clear text.`, {
    hint: 'Give a certificate with --grpc-cert FILE --grpc-key FILE, listen on 127.0.0.1, or force it with --grpc-allow-insecure.',
  });
}

import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { DlhubError, type ErrorCode } from '../errors.js';
import type { ServiceOperation } from './http-server.js';

/** Call one operation on the local service; errors come back as the same typed DlhubError. */
export function callService<T>(socketPath: string, op: ServiceOperation, params: unknown, timeoutMs = 0): Promise<T> {
  const body = JSON.stringify(params ?? {});
  return new Promise<T>((resolve, reject) => {
    const req = request(
      { socketPath, path: `/v1/${op}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: T; error?: { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } };
            if (parsed.error) {
              const e = parsed.error;
              reject(new DlhubError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), ...(e.details ? { details: e.details } : {}) }));
            } else resolve(parsed.result as T);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Is a local service answering on this socket? Never throws. */
export async function serviceAnswers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    await callService(socketPath, 'cacheStats', {}, 1000);
    return true;
  } catch {
    return false;
  }
}

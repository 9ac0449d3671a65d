import type { IncomingMessage } from 'node:http';

/**
 * A request body of at most `maxBytes`, whether declared or sent in chunks. Over the limit the rest
 * is read and dropped for a moment, so the client gets its 413 (`tooLarge()`) rather than a reset connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  return new Promise((resolve, reject) => {
    const refuse = (): void => {
      req.removeAllListeners('data');
      req.on('data', () => undefined);
      setTimeout(() => req.destroy(), 2000).unref();
      reject(tooLarge());
    };
    if (declared > maxBytes) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) refuse();
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// The benchmarks' own HTTP client (one keep-alive connection, sequential, as the DLHub paper's client
// measured) and the floor it is compared with: a bare node:http server answering a fixed body.
import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';

/** Answer of one request: status, body text, and the client-measured time in ms. */
export interface Answer {
  status: number;
  text: string;
  ms: number;
}


/** A sequential client on one keep-alive connection (node:http), as the paper's own client measured. */
export class Client {
  private readonly agent: Agent;
  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
    sockets = 1,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  post(path: string, body: string): Promise<Answer> {
    return new Promise((resolvePost, reject) => {
      const started = performance.now();
      const req = httpRequest(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          path,
          method: 'POST',
          headers: { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// The floor any Node HTTP server reaches on this machine now: a separate process answering a fixed JSON body.
const FLOOR_SERVER = `const http = require('node:http');
const body = JSON.stringify({ result: { output: 'hello world', cached: true, elapsedMs: 0 } });
const s = http.createServer((q, r) => { q.resume(); q.on('end', () => { r.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); r.end(body); }); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

/** Start the node:http floor server; answers its URL and a stop. */
export async function startFloor(): Promise<{ url: URL; stop: () => void }> {
  const proc = spawn(process.execPath, ['-e', FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolvePort, reject) => {
    proc.stdout.once('data', (c: Buffer) => resolvePort(Number(c.toString().trim())));
    proc.once('exit', (code) => reject(new Error(`the floor server exited ${code}`)));
  });
  return { url: new URL(`http://127.0.0.1:${port}`), stop: () => proc.kill('SIGKILL') };
}

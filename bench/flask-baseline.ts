// The Flask baseline: a SageMaker-style server in the hardened container of bench/baselines/flask,
// and the Docker helpers the serving benchmark uses around it.
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, sleep } from './service.js';

/** A free loopback TCP port (for the Flask container's published port). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export function imageTags(): Set<string> {
  return new Set(docker(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter(Boolean));
}

/** Whether GET /ping answers 200 within a second (node:http: each try holds the event loop until it settles). */
function ping(url: URL): Promise<boolean> {
  return new Promise((resolvePing) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolvePing(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePing(false));
    req.end();
  });
}

/** Start the Flask baseline in the hardened container of bench/baselines/flask; answers its container id and URL. */
export async function startFlask(): Promise<{ id: string; url: URL }> {
  const build = spawnSync('bash', [join(ROOT, 'bench', 'baselines', 'flask', 'build.sh')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`Flask baseline build failed: ${build.stderr}`);
  const tag = build.stdout.trim().split('\n').pop() ?? '';
  const port = await freePort();
  const id = docker([
    'run', '-d', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--memory', '512m', '--pids-limit', '64',
    '--label', 'org.dlhub.bench=serving', '-p', `127.0.0.1:${port}:8080`, tag,
  ]);
  const url = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await ping(url);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`Flask container ${id} did not answer /ping: ${docker(['logs', id])}`);
    await sleep(100);
  }
  return { id, url };
}

// Warm round trips against the ways a naive tool would call a model, side by side in one process:
// Docker warm worker vs `docker run` per request vs `docker exec` per request; host warm worker vs
// a Python process per request; the bare Unix socket round trip as the floor; cold start; memo hit vs miss.
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dlhub } from '../main/api/dlhub.js';
import { Engine } from '../main/engine/engine.js';
import { loadSettings, type Settings } from '../main/engine/settings.js';
import { MemoCache } from '../main/memo/memo-cache.js';
import { RuntimeRegistry } from '../main/runtime/registry.js';
import type { HomePaths } from '../main/storage/home.js';
import { DockerRuntime, type DockerWorkerSpec } from '../main/runtime/docker.js';
import { HostRuntime, type HostWorkerSpec } from '../main/runtime/host.js';
import { findPython } from '../main/servable/host-python.js';
import { getLocal } from '../main/servable/registry.js';
import type { Runtime, WorkerSpecBase } from '../main/runtime/runtime.js';
import { printTable, summarize, fmt, timeCalls } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const N = Number(process.env['BENCH_N'] ?? 2000);

/** Bare floor: one 4-byte-length frame each way between Node and a Python echo over a Unix socket. */
async function socketFloor(dir: string, python: string): Promise<number[]> {
  const path = join(dir, 'floor.sock');
  const server = createServer();
  const connected = new Promise<Socket>((r) => server.once('connection', r));
  await new Promise<void>((r) => server.listen(path, r));
  const echo = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
f = s.makefile('rwb', buffering=0)
def readn(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: sys.exit(0)
        b += c
    return b
while True:
    n = struct.unpack('>I', readn(4))[0]
    s.sendall(struct.pack('>I', n) + readn(n))
`;
  const child = spawn(python, ['-c', echo, path], { stdio: 'inherit' });
  const sock = await connected;
  sock.setNoDelay(true);
  const payload = Buffer.from(JSON.stringify({ id: 1, op: 'run', method: 'run', input: null }));
  const frame = Buffer.concat([Buffer.alloc(4), payload]);
  frame.writeUInt32BE(payload.length, 0);
  let pending: (() => void) | undefined;
  let got = 0;
  sock.on('data', (c: Buffer) => {
    got += c.length;
    if (got >= frame.length) {
      got -= frame.length;
      pending?.();
    }
  });
  const samples = await timeCalls(N, () => new Promise<void>((r) => { pending = r; sock.write(frame); }));
  sock.destroy();
  child.kill();
  server.close();
  return samples;
}

async function warm<S extends WorkerSpecBase>(runtime: Runtime<S>, spec: S): Promise<number[]> {
  const worker = await runtime.start(spec);
  try {
    return await timeCalls(N, () => worker.connection.run('run', null));
  } finally {
    await worker.stop();
  }
}

async function coldStarts<S extends WorkerSpecBase>(runtime: Runtime<S>, spec: S, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const w = await runtime.start(spec);
    await w.connection.run('run', null);
    out.push(performance.now() - t);
    await w.stop();
  }
  return out;
}

function timedCommand(n: number, cmd: string, args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    out.push(performance.now() - t);
  }
  return out;
}

/** An engine over `paths` with some settings changed, composed as the app composes it. */
function engineWith(paths: HomePaths, change: Partial<Settings>): { engine: Engine; close: () => Promise<void> } {
  const settings = { ...loadSettings({}), idleMs: 60_000, ...change };
  const memo = MemoCache.open(paths.memoDb);
  const registry = RuntimeRegistry.standard({ home: paths.root, runDir: paths.run, logDir: paths.logs, defaults: { memoryBytes: settings.workerMemoryBytes, pidsLimit: settings.workerPidsLimit } });
  const engine = new Engine(paths, settings, memo, registry);
  return { engine, close: async () => { await engine.close(); memo.close(); } };
}

/** Calls per second for `total` calls issued `concurrency` at a time. */
async function throughput(total: number, concurrency: number, call: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next += 1;
      await call();
    }
  }));
  return total / ((performance.now() - t) / 1000);
}

/** The pool: explicit batch sizes, replicas on a servable that computes for ~5 ms, adaptive batching of concurrent no-op calls. */
async function poolFigures(api: Dlhub, dir: string, noop: string): Promise<void> {
  const sizes = [1, 10, 100, 1000, 10_000];
  const batchRows: { label: string; samples: number[] }[] = [];
  for (const size of sizes) {
    const inputs = Array.from({ length: size }, (_, i) => i);
    batchRows.push({ label: `batch of ${size} no-op inputs, docker, memo off`, samples: await timeCalls(size >= 1000 ? 10 : 50, () => api.runServable({ name: noop, inputs, runtime: 'docker', noCache: true }), 2) });
  }
  printTable('explicit batch: one call, many inputs (time should grow about linearly)', batchRows);

  const busy = join(dir, 'busy');
  mkdirSync(busy, { recursive: true });
  writeFileSync(join(busy, 'app.py'), 'import time\n\ndef run(x):\n    end = time.perf_counter() + 0.005\n    while time.perf_counter() < end:\n        pass\n    return x\n');
  writeFileSync(join(busy, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'busy 5 ms' }], creators: [{ creatorName: 'Bench' }] },
    dlhub: { name: 'bench-busy', version: '1.0.0', files: { other: ['app.py'] } },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { input: { type: 'python object' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: 'run' } } } },
  }));
  await api.buildServable({ dir: busy });
  const lines: string[] = [];
  for (const replicas of [1, 2, 3, 4]) {
    const e = engineWith(api.paths, { replicas: { default: replicas, perServable: {} }, batchMax: 1 });
    try {
      await Promise.all(Array.from({ length: replicas }, () => e.engine.run({ name: 'bench-busy', input: 0, runtime: 'docker', noCache: true })));
      const rate = await throughput(400, 16, () => e.engine.run({ name: 'bench-busy', input: 1, runtime: 'docker', noCache: true }));
      lines.push(`  ${replicas} replica${replicas > 1 ? 's' : ' '}  ${rate.toFixed(0).padStart(6)} calls/s`);
    } finally {
      await e.close();
    }
  }
  console.log('\nthroughput, 5 ms of Python per call, 16 concurrent callers, adaptive batching off (machine has', cpus().length, 'cores)');
  for (const l of lines) console.log(l);

  const adaptive: string[] = [];
  for (const batchMax of [1, 64]) {
    const e = engineWith(api.paths, { batchMax });
    try {
      await e.engine.run({ name: noop, input: 0, runtime: 'docker', noCache: true });
      const before = e.engine.pool.stats();
      const rate = await throughput(5000, 64, () => e.engine.run({ name: noop, input: 1, runtime: 'docker', noCache: true }));
      const after = e.engine.pool.stats();
      adaptive.push(`  DLHUB_BATCH_MAX=${String(batchMax).padEnd(3)} ${rate.toFixed(0).padStart(7)} calls/s, ${((after.calls - before.calls) / Math.max(1, after.requests - before.requests)).toFixed(1)} calls per worker request`);
    } finally {
      await e.close();
    }
  }
  console.log('\nadaptive batching: no-op, one replica, 64 concurrent callers, memo off');
  for (const l of adaptive) console.log(l);
}

/** Run the runtime benchmark and print its tables. */
export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-bench-'));
  const baseImage = execFileSync('bash', [join(ROOT, 'resources/base-image/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  const api = new Dlhub({ home: join(dir, 'home'), baseImage, settings: { idleMs: 60_000 } });
  try {
    const built = await api.buildServable({ dir: join(ROOT, 'examples/noop') });
    const noop = getLocal(api.paths, built.name);
    const python = (await findPython()).path;
    const files = { name: noop.name, servableDir: noop.servableDir, runnerDir: noop.runnerDir };
    const hostSpec: HostWorkerSpec = { runtime: 'host', ...files, python };
    const spec: DockerWorkerSpec = { runtime: 'docker', ...files, image: noop.image?.tag ?? '', memoryBytes: 512 * 1024 * 1024, pidsLimit: 64 };
    const docker = new DockerRuntime({ runDir: api.paths.run, defaults: { memoryBytes: 512 * 1024 * 1024, pidsLimit: 64 } });
    const host = new HostRuntime({ runDir: api.paths.run });

    const floor = await socketFloor(dir, python);
    const hostSocket = await warm(host, hostSpec);
    const hostStdio = await warm(host, { ...hostSpec, transport: 'stdio' });
    const dockerSocket = await warm(docker, spec);
    const dockerStdio = await warm(docker, { ...spec, transport: 'stdio' });
    // The naive ways, with fewer calls: each costs tens to hundreds of milliseconds.
    const runner = `import sys; sys.path.insert(0, '/opt/dlhub/servable'); import noop; print(noop.hello_world(None))`;
    const spawnPerCall = timedCommand(20, python, ['-c', runner.replace('/opt/dlhub/servable', noop.servableDir)]);
    const dockerRun = timedCommand(5, 'docker', ['run', '--rm', '--network', 'none', spec.image ?? '', 'python3', '-c', runner]);
    const keep = execFileSync('docker', ['run', '-d', '--rm', '--network', 'none', spec.image ?? '', 'sleep', '300'], { encoding: 'utf8' }).trim();
    const dockerExec = timedCommand(20, 'docker', ['exec', keep, 'python3', '-c', runner]);
    execFileSync('docker', ['rm', '-f', keep], { stdio: 'ignore' });
    const coldDocker = await coldStarts(docker, spec, 5);
    const coldHost = await coldStarts(host, hostSpec, 5);

    // Through the whole engine (validation, memo key, pool), in process.
    await api.runServable({ name: noop.name, input: 'warm-up', runtime: 'docker' });
    const engineMiss = await timeCalls(N, () => api.runServable({ name: noop.name, input: null, runtime: 'docker', noCache: true }));
    await api.runServable({ name: noop.name, input: 'same', runtime: 'docker' });
    const engineHit = await timeCalls(N, () => api.runServable({ name: noop.name, input: 'same', runtime: 'docker' }));

    printTable('no-op servable: one call, round trip', [
      { label: 'floor: bare Unix socket echo (Python)', samples: floor },
      { label: 'host runtime, warm, socket', samples: hostSocket },
      { label: 'host runtime, warm, stdio', samples: hostStdio },
      { label: 'baseline: python process per call', samples: spawnPerCall },
      { label: 'docker runtime, warm, bound socket', samples: dockerSocket },
      { label: 'docker runtime, warm, attach stdio', samples: dockerStdio },
      { label: 'baseline: docker exec per call', samples: dockerExec },
      { label: 'baseline: docker run per call', samples: dockerRun },
      { label: 'engine.run, docker, memo off', samples: engineMiss },
      { label: 'engine.run, docker, memo hit', samples: engineHit },
    ]);
    printTable('cold start: start worker to first answer', [
      { label: 'docker runtime (create, start, hello, run)', samples: coldDocker },
      { label: 'host runtime (spawn, hello, run)', samples: coldHost },
    ]);
    await poolFigures(api, dir, noop.name);
    const w = summarize(dockerSocket).p50;
    console.log(`\nwarm docker p50 ${fmt(w)} vs docker exec p50 ${fmt(summarize(dockerExec).p50)}: ${(summarize(dockerExec).p50 / w).toFixed(0)}x faster`);
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}

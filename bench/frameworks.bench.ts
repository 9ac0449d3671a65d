// PyTorch through the engine: warm call time of a small CNN on 28x28 inputs (batch 1 and 64, CPU)
// on Docker and on the host, split into the model's own time in the runner (inferenceMs) and the
// rest, beside the same forward pass timed inside Python (on the host and inside the servable's
// image) in the same run; and the framework base image: resolved from cache, and (BENCH_COLD=1)
// built from Debian packages under a fresh tag, as a first build on a new machine would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { Dlhub } from '../main/api/dlhub.js';
import { NdArray } from '../main/contract/ndarray.js';
import { withFrameworkBase } from '../main/packager/framework-images.js';
import { loadMetadataFile } from '../main/servable/validate.js';
import { fmt, machineLine, summarize } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PYTHON = '/usr/bin/python3';
const N1 = Number(process.env['BENCH_N'] ?? 300);
const N64 = Math.max(20, Math.round(N1 / 5));

/** The small CNN's module (its class Net), the servable's net.py. */
const NET = readFileSync(join(ROOT, 'test', 'fixtures', 'small-cnn', 'net.py'), 'utf8');

const MAKE = `import sys, torch
sys.path.insert(0, sys.argv[1])
import net
torch.manual_seed(0)
torch.save(net.Net().eval(), sys.argv[1] + "/model.pt")
`;

// The model's own forward pass, timed in Python on float32 tensors made once: what a PyTorch user measures.
// Back to back, and after a pause as long as a served call's round trip (a worker waits between calls,
// and on a virtual machine a CPU that has idled computes the next pass several times slower).
const FORWARD = `import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
model = torch.load(sys.argv[1] + "/model.pt").eval()
out, paused = {}, {}
for batch, n in ((1, int(sys.argv[2])), (64, int(sys.argv[3]))):
    x = torch.rand(batch, 1, 28, 28)
    with torch.no_grad():
        for _ in range(20):
            model(x)
        for gap, into in ((0, out), (float(sys.argv[4]) / 1000, paused)):
            samples = []
            for _ in range(n):
                if gap:
                    time.sleep(gap)
                t = time.perf_counter()
                model(x)
                samples.append((time.perf_counter() - t) * 1000)
            into[str(batch)] = samples
print(json.dumps({"threads": torch.get_num_threads(), "samples": out, "paused": paused}))
`;
const PAUSE_MS = 3;

interface Forward { threads: number; samples: Record<string, number[]>; paused: Record<string, number[]> }

function forwardInPython(args: string[], servableDir: string): Forward {
  const text = execFileSync(args[0] ?? PYTHON, [...args.slice(1), '-c', FORWARD, servableDir, String(N1), String(N64), String(PAUSE_MS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(text.trim().split('\n').pop() ?? '{}') as Forward;
}

function input(batch: number): NdArray {
  const data = new Float32Array(batch * 28 * 28);
  for (let i = 0; i < data.length; i += 1) data[i] = ((i * 7919) % 1000) / 1000;
  return NdArray.from(data, [batch, 1, 28, 28]);
}

/** Warm calls through the engine: total time per call and the runner's own model time (inferenceMs). */
async function engineCalls(api: Dlhub, name: string, runtime: 'docker' | 'host', batch: number, n: number): Promise<{ total: number[]; model: number[] }> {
  const x = input(batch);
  for (let i = 0; i < 20; i += 1) await api.runServable({ name, input: x, runtime, noCache: true });
  const total: number[] = [];
  const model: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t = performance.now();
    const r = await api.runServable({ name, input: x, runtime, noCache: true });
    total.push(performance.now() - t);
    model.push(r.inferenceMs ?? NaN);
  }
  return { total, model };
}

function row(label: string, samples: number[]): string {
  const s = summarize(samples);
  return `${label.padEnd(58)} ${String(s.n).padStart(5)} ${fmt(s.p50).padStart(10)} ${fmt(s.p95).padStart(10)}`;
}

/** Seconds `fn` takes. */
async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

/** Run the frameworks benchmark and print its tables. */
export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-bench-fw-'));
  const script = join(ROOT, 'resources/base-image/build.sh');
  const baseImage = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  const api = new Dlhub({ home: join(dir, 'home'), baseImage, settings: { idleMs: 120_000 } });
  const docker = new Docker();
  try {
    const src = join(dir, 'cnn');
    mkdirSync(src);
    writeFileSync(join(src, 'net.py'), NET);
    execFileSync(PYTHON, ['-c', MAKE, src], { stdio: 'inherit' });
    await api.initServable({ dir: src, name: 'bench-cnn', title: 'Small CNN', creators: ['Bench, Ann'], description: 'A CNN on 28x28 images' });

    // The framework base: the first build, under a fresh tag (same packages, one more space in the list, so
    // a new content key) when BENCH_COLD=1; then the cached lookup every later build makes.
    const metadata = loadMetadataFile(join(src, 'dlhub.json'));
    const lines: string[] = [];
    if (process.env['BENCH_COLD'] === '1') {
      const env = { ...process.env, DLHUB_BASE_PACKAGES: 'python3-torch ' };
      const fresh = execFileSync('bash', [script, '--print-tag'], { encoding: 'utf8', env }).trim();
      try {
        execFileSync('docker', ['rmi', fresh], { stdio: 'ignore' });
      } catch {
        // not there: the usual case
      }
      const cold = await seconds(async () => execFileSync('bash', [script], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
      const size = execFileSync('docker', ['image', 'inspect', fresh, '--format', '{{.Size}}'], { encoding: 'utf8' }).trim();
      execFileSync('docker', ['rmi', fresh], { stdio: 'ignore' });
      lines.push(`first build of a torch framework base (debootstrap + import)   ${cold.toFixed(1)} s, ${(Number(size) / 1e9).toFixed(2)} GB`);
    }
    const first = await seconds(() => withFrameworkBase({ image: baseImage, note: undefined }, metadata, { docker }));
    const cached = await seconds(() => withFrameworkBase({ image: baseImage, note: undefined }, metadata, { docker }));
    const built = await seconds(() => api.buildServable({ dir: src }));
    const rebuilt = await seconds(() => api.buildServable({ dir: src, force: true }));
    const unchanged = await seconds(() => api.buildServable({ dir: src }));
    lines.push(`framework base lookup, first in this process (maybe built)      ${first.toFixed(2)} s`);
    lines.push(`framework base lookup, cached (build.sh --print-tag + inspect)  ${cached.toFixed(2)} s`);
    lines.push(`dlhub build of the CNN on the cached base, first               ${built.toFixed(2)} s`);
    lines.push(`dlhub build --force (servable image again, base cached)         ${rebuilt.toFixed(2)} s`);
    lines.push(`dlhub build, nothing changed (image reused by content key)      ${unchanged.toFixed(2)} s`);
    console.log(`\n${machineLine()}`);
    console.log('\nframework base image and builds');
    for (const l of lines) console.log(`  ${l}`);

    const image = (JSON.parse(readFileSync(join(api.paths.servables, 'bench-cnn', 'build.json'), 'utf8')) as { tag: string }).tag;
    const hostForward = forwardInPython([PYTHON], src);
    const dockerForward = forwardInPython(['docker', 'run', '--rm', '--network', 'none', '-v', `${src}:/m:ro`, image, 'python3'], '/m');

    console.log(`\nwarm calls of the small CNN (float32 ndarray in, memo off), ${availableParallelism()} CPUs, torch threads host ${hostForward.threads} / container ${dockerForward.threads}`);
    console.log(`${'case'.padEnd(58)} ${'n'.padStart(5)} ${'p50'.padStart(10)} ${'p95'.padStart(10)}`);
    const summary: string[] = [];
    for (const runtime of ['docker', 'host'] as const) {
      const forward = runtime === 'docker' ? dockerForward : hostForward;
      for (const batch of [1, 64]) {
        const n = batch === 1 ? N1 : N64;
        const calls = await engineCalls(api, 'bench-cnn', runtime, batch, n);
        const outside = calls.total.map((t, i) => t - (calls.model[i] ?? NaN));
        const own = forward.samples[String(batch)] ?? [];
        const ownPaused = forward.paused[String(batch)] ?? [];
        console.log(row(`${runtime} batch ${batch}: engine call, total`, calls.total));
        console.log(row(`${runtime} batch ${batch}:   in the runner's model function (inferenceMs)`, calls.model));
        console.log(row(`${runtime} batch ${batch}:   outside the model (total - inferenceMs)`, outside));
        const where = runtime === 'docker' ? 'in the image' : 'host';
        console.log(row(`${runtime} batch ${batch}: forward pass alone in Python (${where}), back to back`, own));
        console.log(row(`${runtime} batch ${batch}: forward pass alone in Python (${where}), ${PAUSE_MS} ms pauses`, ownPaused));
        const p = (xs: number[]): number => summarize(xs).p50;
        summary.push(`${runtime} batch ${batch}: call ${fmt(p(calls.total))} = model ${fmt(p(calls.model))} + ${fmt(p(outside))}; forward alone ${fmt(p(own))} back to back, ${fmt(p(ownPaused))} after pauses; call over forward ${fmt(p(calls.total) - p(ownPaused))}`);
      }
    }
    console.log('\np50 summary');
    for (const s of summary) console.log(`  ${s}`);
  } finally {
    await api.removeServable({ name: 'bench-cnn' }).catch(() => undefined);
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}

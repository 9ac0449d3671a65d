/**
 * PyTorch servables made here with Debian's torch go through init, build (on the framework base
 * image, built once and then reused by its content key) and run on Docker and on the host, and
 * answer as the model does when called outside DLHub. GPU needs are checked before anything starts
 * (no GPU here: the refusal and the CPU fallback are what can be tested), and `doctor` reports what
 * the machine reports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';

const PYTHON = '/usr/bin/python3';

/** The small CNN's module (its class Net), each servable's net.py. */
const NET = readFileSync(join(import.meta.dirname, '../fixtures/small-cnn/net.py'), 'utf8');

// Saves the model four ways and the model's own answers to the test input, computed outside DLHub.
const MAKE = `import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import net
torch.manual_seed(0)
model = net.Net().eval()
root = sys.argv[2]
torch.save(model, root + "/cnn/model.pt")
torch.jit.save(torch.jit.script(model), root + "/script/model.pt")
torch.save(model.state_dict(), root + "/weights/weights.pt")
torch.save(model.state_dict(), root + "/bare/weights.pt")
x = np.random.RandomState(1).rand(3, 1, 28, 28).round(4)
with torch.no_grad():
    y = model(torch.as_tensor(x, dtype=torch.float32)).numpy()
json.dump({"input": x.tolist(), "output": y.astype("float64").tolist(), "torch": torch.__version__.split("+")[0]}, open(root + "/expected.json", "w"))
`;

let tmp: { dir: string; cleanup: () => void };
let env: Record<string, string>;
let home: string;
let expected: { input: number[][][][]; output: number[][]; torch: string };

function dir(name: string): string {
  return join(tmp.dir, name);
}

function editMetadata(folder: string, edit: (md: Record<string, Record<string, unknown>>) => void): void {
  const file = join(folder, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  edit(md);
  writeFileSync(file, JSON.stringify(md, null, 2));
}

async function init(folder: string): Promise<Record<string, Record<string, unknown>>> {
  const r = await runCli(['init', folder, '--title', 'Small CNN', '--creator', 'Tester, Ann', '--description', 'A CNN on 28x28 images'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(readFileSync(join(folder, 'dlhub.json'), 'utf8')) as Record<string, Record<string, unknown>>;
}

async function run(name: string, runtime: 'docker' | 'host', input: unknown = expected.input): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await runCli(['run', name, '--input', JSON.stringify(input), '--runtime', runtime, '--json'], env);
  return { code: r.code, body: json(r) };
}

function expectModelAnswers(output: unknown): void {
  const rows = output as number[][];
  expect(rows).toHaveLength(expected.output.length);
  // float32 arithmetic: the same torch in another process may sum in another order (threads), within float32 rounding.
  rows.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected.output[i]?.[j] ?? NaN, 5)));
}

beforeAll(async () => {
  await requireDocker();
  tmp = tempDir('dlhub-frameworks-');
  home = dir('home');
  env = { DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage() };
  for (const d of ['cnn', 'script', 'weights', 'bare']) mkdirSync(dir(d));
  for (const d of ['cnn', 'weights', 'bare']) writeFileSync(join(dir(d), 'net.py'), NET);
  writeFileSync(dir('make.py'), MAKE);
  execFileSync(PYTHON, [dir('make.py'), dir('cnn'), tmp.dir], { stdio: 'inherit' });
  expected = JSON.parse(readFileSync(dir('expected.json'), 'utf8')) as typeof expected;
}, 120_000);

afterAll(async () => {
  if (!tmp) return;
  for (const name of ['cnn', 'script']) await runCli(['rm', name], env);
  for (const id of homeWorkerContainers(home)) spawnSync('docker', ['rm', '-f', id]);
  tmp.cleanup();
});

describe('a PyTorch servable made with Debian\'s torch', () => {
  it('init writes the torch dependency with this machine\'s version and the shapes the first and last layers tell', async () => {
    const md = await init(dir('cnn'));
    expect((md['dlhub']?.['dependencies'] as { python: Record<string, string> }).python).toEqual({ torch: expected.torch });
    const runMethod = (md['servable']?.['methods'] as Record<string, { input: { shape: unknown }; output: { shape: unknown } }>)['run'];
    expect(runMethod?.input.shape).toEqual([null, 1, 28, 28]);
    expect(runMethod?.output.shape).toEqual([null, 10]);
  });

  it('builds on the framework base image (Debian\'s python3-torch added to the base, reused by content key) and says so', async () => {
    const first = await runCli(['build', dir('cnn')], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/Framework base dlhub-framework-base:bookworm-[0-9a-f]{12} \((built now|cached)\) adds python3-torch/);
    const record = JSON.parse(readFileSync(join(home, 'servables', 'cnn', 'build.json'), 'utf8')) as { baseImage: string };
    expect(record.baseImage).toMatch(/^dlhub-framework-base:bookworm-[0-9a-f]{12}$/);
    // The framework base is built once: a second build finds it cached and the image unchanged.
    const again = await runCli(['build', dir('cnn')], env);
    expect(again.stderr).toMatch(/Framework base dlhub-framework-base:\S+ \(cached\)/);
    expect(again.stdout).toContain('unchanged, not rebuilt');
    const torch = execFileSync('docker', ['run', '--rm', '--network', 'none', record.baseImage, 'python3', '-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
    expect(torch.split('+')[0]).toBe(expected.torch);
  }, 1_800_000);

  it('answers as the model does outside, on Docker and on the host, from float64 JSON numbers into a float32 model', async () => {
    for (const runtime of ['docker', 'host'] as const) {
      const r = await run('cnn', runtime);
      expect(r.code, JSON.stringify(r.body)).toBe(0);
      expect(r.body['runtime']).toBe(runtime);
      expectModelAnswers(r.body['output']);
    }
  }, 300_000);

  it('a TorchScript file builds and answers the same', async () => {
    const md = await init(dir('script'));
    expect((md['servable']?.['methods'] as Record<string, { input: { shape: unknown } }>)['run']?.input.shape).toEqual([null, 1, 28, 28]);
    editMetadata(dir('script'), (m) => (m['dlhub'] = { ...m['dlhub'], name: 'script' }));
    const built = await runCli(['build', dir('script')], env);
    expect(built.code, built.stderr).toBe(0);
    for (const runtime of ['docker', 'host'] as const) {
      const r = await run('script', runtime);
      expect(r.code, JSON.stringify(r.body)).toBe(0);
      expectModelAnswers(r.body['output']);
    }
  }, 600_000);

  it('a state_dict runs with its module class named in servable.options.model_class; a bare one says exactly what to provide', async () => {
    for (const d of ['weights', 'bare']) {
      const md = await init(dir(d));
      expect(md['servable']?.['model_summary']).toBeUndefined();
      editMetadata(dir(d), (m) => {
        m['dlhub'] = { ...m['dlhub'], name: d };
        // A state_dict does not say its shapes (init lists them to fill in): a person sets them.
        const methods = m['servable']?.['methods'] as Record<string, { input: { shape: unknown }; output: { shape: unknown } }>;
        if (methods['run']) Object.assign(methods['run'], { input: { ...methods['run'].input, shape: [null, 1, 28, 28] }, output: { ...methods['run'].output, shape: [null, 10] } });
      });
    }
    editMetadata(dir('weights'), (m) => (m['servable'] = { ...m['servable'], options: { model_class: 'net.Net' } }));
    for (const d of ['weights', 'bare']) expect((await runCli(['build', dir(d), '--runtime', 'host'], env)).code).toBe(0);
    const ok = await run('weights', 'host');
    expect(ok.code, JSON.stringify(ok.body)).toBe(0);
    expectModelAnswers(ok.body['output']);
    const bare = await run('bare', 'host');
    expect(bare.code).not.toBe(0);
    const message = (bare.body['error'] as { message: string }).message;
    expect(message).toContain('weights.pt holds a state_dict');
    expect(message).toContain('servable.options.model_class');
  }, 300_000);
});

describe('declared resources and the machine', () => {
  const hasGpu = spawnSync('nvidia-smi', ['-L']).status === 0;

  it.skipIf(hasGpu)('fit refuses a GPU-only servable here with the reason, and run refuses it before a worker starts', async () => {
    cpSync(dir('cnn'), dir('gpu'), { recursive: true });
    editMetadata(dir('gpu'), (m) => (m['dlhub'] = { ...m['dlhub'], name: 'gpu-only', resources: { gpu: true, gpu_memory_gb: 8 } }));
    expect((await runCli(['build', dir('gpu'), '--runtime', 'host'], env)).code).toBe(0);
    const fit = await runCli(['fit', 'gpu-only', '--json'], env);
    expect(fit.code).toBe(1);
    const report = json(fit);
    expect(report).toMatchObject({ name: 'gpu-only', source: 'local', fits: false, device: 'cpu' });
    expect((report['reasons'] as string[])[0]).toMatch(/needs a GPU \(dlhub\.resources\.gpu\) and this machine has none \(nvidia-smi/);
    const r = await run('gpu-only', 'host');
    expect(r.code).not.toBe(0);
    expect(r.body['error']).toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
    expect((r.body['error'] as { message: string }).message).toContain('needs a GPU');

    // Allowed onto the CPU: it fits, says so, and answers as the model does.
    editMetadata(dir('gpu'), (m) => (m['dlhub'] = { ...m['dlhub'], resources: { gpu: true, cpu_fallback: true } }));
    expect((await runCli(['build', dir('gpu'), '--runtime', 'host'], env)).code).toBe(0);
    const fallback = json(await runCli(['fit', 'gpu-only', '--json'], env));
    expect(fallback).toMatchObject({ fits: true, device: 'cpu', reasons: [] });
    expect((fallback['notes'] as string[])[0]).toContain('runs on the CPU');
    const answered = await run('gpu-only', 'host');
    expect(answered.code, JSON.stringify(answered.body)).toBe(0);
    expectModelAnswers(answered.body['output']);
  }, 300_000);

  it('doctor reports what the machine reports: CPUs, RAM, disk, GPUs and the runtimes', async () => {
    const d = json(await runCli(['doctor', '--json'], env));
    expect(d['cpus']).toBe(availableParallelism());
    const memTotal = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    expect(d['memoryBytes']).toBe(memTotal);
    const df = execFileSync('df', ['-B1', '--output=size', home], { encoding: 'utf8' }).trim().split('\n').pop()?.trim();
    expect((d['disk'] as { totalBytes: number }).totalBytes).toBe(Number(df));
    const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
    const gpus = smi.status === 0 ? smi.stdout.split('\n').filter((l) => l.startsWith('GPU ')).length : 0;
    expect((d['gpus'] as unknown[]).length).toBe(gpus);
    if (gpus === 0) expect(d['gpuProbe']).toMatch(/nvidia-smi/);
    expect(d['runtimes']).toEqual(json(await runCli(['runtimes', '--json'], env)));
  }, 120_000);
});

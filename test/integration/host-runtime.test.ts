import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError, ModelError, NotFoundError, WorkerError } from '../../main/errors.js';
import { HostRuntime, type HostWorkerSpec } from '../../main/runtime/host.js';
import { decodeStoredResult, NdArray } from '../../main/runtime/protocol/values.js';
import type { Worker } from '../../main/runtime/runtime.js';
import { probeMetadata } from '../helpers/docker.js';
import { expectValidMessage } from '../unit/protocol/protocol-schema.js';
import { describeRuntime, PROBE_APP } from './runtime-suite.js';

const RUNNER_DIR = fileURLToPath(new URL('../../resources/runner', import.meta.url));
// Debian's Python has numpy and scikit-learn; `python3` on PATH (pyenv) has neither.
const SYSTEM_PYTHON = '/usr/bin/python3';

const APP = `
import os, sys, time

def hello(x):
    return "hello world"

def echo(x, **params):
    return {"input": x, "params": params} if params else x

def fail(x):
    raise ValueError("bad value %r" % (x,))

def noisy(x):
    print("model noise on stdout", x)
    sys.stdout.flush()
    os.write(1, b"raw noise on fd 1\\n")
    return "ok"

def pid(x):
    return os.getpid()

def sleep(x):
    time.sleep(x)
    return x

def double(x):
    return [v * 2 for v in x]

def spew(mb):
    line = b"e" * 1023 + b"\\n"
    for _ in range(int(mb) * 1024):
        os.write(2, line)
    return mb
`;

function fnMethod(name: string, input = 'list'): Record<string, unknown> {
  return { input: { type: input }, output: { type: 'list' }, method_details: { module: 'app', method_name: name, autobatch: false } };
}

function writeServable(dir: string, name: string, servable: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({ datacite: { titles: [{ title: name }] }, dlhub: { name }, servable }));
  return dir;
}

/** A runner folder whose dlhub_runner.py writes to stderr and exits with code 3 before hello. */
function explodingRunner(root: string): string {
  const fake = join(root, 'fake-runner');
  mkdirSync(fake, { recursive: true });
  writeFileSync(join(fake, 'dlhub_runner.py'), 'import sys\nsys.stderr.write("runner exploded: no such thing\\n")\nsys.exit(3)\n');
  return fake;
}

/** Pids of the processes whose working folder is `dir` (a host runner works in its servable's folder). */
function processesIn(dir: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === dir;
    } catch {
      return false; // gone meanwhile, a zombie, or not ours to read
    }
  });
}

const TRAIN = `
import pickle, sys
from sklearn.linear_model import LogisticRegression
import numpy as np
rng = np.random.RandomState(0)
X = rng.normal(size=(60, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
with open(sys.argv[1], "wb") as f:
    pickle.dump(LogisticRegression().fit(X, y), f)
`;

describe('host runtime with the real runner', () => {
  let root: string;
  let runtime: HostRuntime;
  let fnDir: string;
  let skDir: string;
  const seen: Record<string, unknown>[] = [];
  const workers: Worker[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dlhub-host-'));
    runtime = new HostRuntime({ runDir: join(root, 'run'), logDir: join(root, 'logs'), trace: (_d, h) => seen.push(h) });
    fnDir = writeServable(join(root, 'fn'), 'fn-servable', {
      type: 'Python static method',
      shim: 'python.PythonStaticMethodServable',
      methods: Object.fromEntries(['hello', 'echo', 'fail', 'noisy', 'pid', 'sleep', 'double', 'spew'].map((m) => [m, fnMethod(m)])),
    });
    writeFileSync(join(fnDir, 'app.py'), APP);
    skDir = writeServable(join(root, 'sk'), 'sk-servable', {
      type: 'Scikit-learn estimator',
      shim: 'sklearn.ScikitLearnServable',
      files: { model: 'model.pkl' },
      options: { serialization_method: 'pickle' },
      methods: {
        predict: { input: { type: 'ndarray', shape: [null, 4] }, output: { type: 'ndarray' }, method_details: { method_name: 'predict' } },
        predict_proba: { input: { type: 'ndarray', shape: [null, 4] }, output: { type: 'ndarray' }, method_details: { method_name: 'predict_proba' } },
      },
    });
    execFileSync(SYSTEM_PYTHON, ['-c', TRAIN, join(skDir, 'model.pkl')]);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    // Every header that crossed the wire, both directions, is a valid protocol message.
    for (const header of seen.splice(0)) expectValidMessage(header);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  describeRuntime('host', () => {
    const probeDir = realpathSync(mkdtempSync(join(root, 'probe-')));
    const name = 'host-probe';
    writeFileSync(join(probeDir, 'dlhub.json'), JSON.stringify(probeMetadata(name, 'Probe')));
    writeFileSync(join(probeDir, 'app.py'), PROBE_APP);
    const leftovers = (): string[] => processesIn(probeDir);
    return {
      name,
      start: (opts) => runtime.start({ runtime: 'host', name, servableDir: probeDir, runnerDir: RUNNER_DIR, ...opts }),
      startWithoutRunner: () => runtime.start({ runtime: 'host', name, servableDir: probeDir, runnerDir: explodingRunner(root) }),
      runDir: join(root, 'run'),
      leftovers,
      kill: () => {
        for (const pid of leftovers()) process.kill(Number(pid), 'SIGKILL');
      },
    };
  });

  async function start(extra: Partial<HostWorkerSpec> = {}): Promise<Worker> {
    const worker = await runtime.start({ runtime: 'host', name: 'fn-servable', servableDir: fnDir, runnerDir: RUNNER_DIR, ...extra });
    workers.push(worker);
    return worker;
  }

  it.each(['socket', 'stdio'] as const)('answers hello and runs a function over %s', async (transport) => {
    const worker = await start({ transport });
    const hello = await worker.connection.hello();
    expect(hello.servable).toEqual({ name: 'fn-servable', type: 'Python static method' });
    expect(hello.methods).toContain('hello');
    expect(hello.capabilities).toEqual(['batch', 'ndarray', 'bytes']);
    expectValidMessage(seen.find((h) => (h['result'] as { runner?: string } | undefined)?.runner), 'helloResponse');
    const result = await worker.connection.run('hello', null);
    expect(result.output).toBe('hello world');
    expect(typeof result.invokeMs).toBe('number');
    expect(decodeStoredResult(result.raw)).toBe('hello world');
  });

  it('describes the servable with its full metadata', async () => {
    const worker = await start();
    const info = await worker.connection.describe();
    expect((info['dlhub'] as { name: string }).name).toBe('fn-servable');
    expect(Object.keys(info['methods'] as object)).toContain('echo');
    expectValidMessage(seen.find((h) => (h['result'] as { dlhub?: unknown } | undefined)?.dlhub), 'describeResponse');
  });

  it('carries bytes and arrays both ways, and parameters as keyword arguments', async () => {
    const worker = await start();
    const blob = Buffer.from([0, 1, 2, 250, 255]);
    const out = await worker.connection.run('echo', { blob, n: [1, 2] });
    expect(out.output).toEqual({ blob, n: [1, 2] });
    // With numpy the model gets an array and returns one; without it, nested lists: the values are the same.
    const arr = NdArray.from(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const echoed = (await worker.connection.run('echo', arr)).output;
    expect(JSON.parse(JSON.stringify(echoed))).toEqual([[1, 2, 3], [4, 5, 6]]);
    const withParams = await worker.connection.run('echo', 'x', { parameters: { scale: 2 } });
    expect(withParams.output).toEqual({ input: 'x', params: { scale: 2 } });
  });

  it('reports a model exception with its type and traceback, then keeps serving', async () => {
    const worker = await start();
    const err = await worker.connection.run('fail', 42).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).pythonType).toBe('ValueError');
    expect((err as ModelError).message).toBe('ValueError: bad value 42');
    expect((err as ModelError).traceback).toContain('raise ValueError');
    expect((await worker.connection.run('hello', null)).output).toBe('hello world');
  });

  it('fails an unknown method with METHOD_NOT_FOUND naming the methods there are', async () => {
    const worker = await start();
    const err = await worker.connection.run('nope', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('METHOD_NOT_FOUND');
    expect((err as NotFoundError).message).toContain('echo');
  });

  it('keeps the stdio stream clean when the model prints, and logs the prints', async () => {
    const worker = await start({ transport: 'stdio' });
    expect((await worker.connection.run('noisy', 1)).output).toBe('ok');
    expect((await worker.connection.run('noisy', 2)).output).toBe('ok');
    expect((await worker.connection.run('hello', null)).output).toBe('hello world');
    await worker.stop();
    const log = readFileSync(join(root, 'logs', 'host-fn-servable.log'), 'utf8');
    expect(log).toContain('model noise on stdout 2');
    expect(log).toContain('raw noise on fd 1');
  });

  it('answers overlapping calls by id', async () => {
    const worker = await start();
    const results = await Promise.all([0.2, 0, 0.1].map((s) => worker.connection.run('sleep', s)));
    expect(results.map((r) => r.output)).toEqual([0.2, 0, 0.1]);
  });

  it('runs a batch of a function servable one input at a time with the same results', async () => {
    const worker = await start();
    const inputs = [[1, 2], [3], []];
    const batch = await worker.connection.runBatch('double', inputs);
    const single = await Promise.all(inputs.map(async (x) => (await worker.connection.run('double', x)).output));
    expect(batch.outputs).toEqual([[2, 4], [6], []]);
    expect(batch.outputs).toEqual(single);
    expect(batch.raws.map(decodeStoredResult)).toEqual(single);
    expectValidMessage(seen.find((h) => h['batch'] === true), 'runBatchRequest');
  });

  it('runs a scikit-learn servable, and a batch gives the same rows as single calls', async () => {
    const worker = await start({ name: 'sk-servable', servableDir: skDir, python: SYSTEM_PYTHON });
    const a = NdArray.from(new Float64Array([1, 1, 0, 0, -1, -1, 0, 0]), [2, 4]);
    const b = NdArray.from(new Float64Array([2, -1, 0, 0]), [1, 4]);
    const one = await worker.connection.run('predict', a);
    expect(one.output).toBeInstanceOf(NdArray);
    expect((one.output as NdArray).toJSON()).toEqual([1, 0]);
    const proba = (await worker.connection.run('predict_proba', [[1, 1, 0, 0]])).output as NdArray;
    expect(proba.dtype).toBe('float64');
    expect(proba.shape).toEqual([1, 2]);
    const batch = await worker.connection.runBatch('predict', [a, b, [[-3, -3, 0, 0]]]);
    expect(batch.outputs.map((o) => (o as NdArray).toJSON())).toEqual([[1, 0], [1], [0]]);
    const single = (await worker.connection.run('predict', b)).output as NdArray;
    expect((batch.outputs[1] as NdArray).toJSON()).toEqual(single.toJSON());
    expect((decodeStoredResult(batch.raws[0]!) as NdArray).toJSON()).toEqual([1, 0]);
    const bad = await worker.connection.run('predict', [[1, 2]]).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ModelError);
    expect((bad as ModelError).message).toContain('features');
  });

  it('reports an input that cannot become an array as INPUT_INVALID', async () => {
    const worker = await start({ name: 'sk-servable', servableDir: skDir, python: SYSTEM_PYTHON });
    const err = await worker.connection.run('predict', [[1, 2], [3]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('INPUT_INVALID');
  });

  it('fails to start a servable whose library is missing, naming the library', async () => {
    const dir = writeServable(join(root, 'keras'), 'keras-servable', {
      type: 'Keras model', shim: 'keras.KerasServable', files: { model: 'model.h5' }, methods: { predict: fnMethod('predict', 'ndarray') },
    });
    writeFileSync(join(dir, 'model.h5'), 'not really a model');
    const err = await runtime.start({ runtime: 'host', name: 'keras-servable', servableDir: dir, runnerDir: RUNNER_DIR }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toContain("'tensorflow'");
    expect((err as WorkerError).message).toContain('must be in the image');
    expect(readdirSync(join(root, 'run'))).toEqual([]);
  });

  it('fails with the last lines of stderr when the runner exits before hello', async () => {
    const err = await runtime.start({ runtime: 'host', name: 'fn-servable', servableDir: fnDir, runnerDir: explodingRunner(root) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).code).toBe('RUNNER_DIED');
    expect((err as WorkerError).message).toContain('exited with code 3');
    expect((err as WorkerError).message).toContain('runner exploded: no such thing');
  });

  it('unlinks the worker socket as soon as the runner has connected: no other process can reach the worker', async () => {
    const worker = await start();
    expect((await worker.connection.run('pid', null)).output).toEqual(expect.any(Number));
    expect(readdirSync(join(root, 'run'))).toEqual([]);
  });

  it('uses a short socket path when the run folder is too deep for a Unix socket', async () => {
    const deep = join(root, 'x'.repeat(60), 'y'.repeat(60));
    const deepRuntime = new HostRuntime({ runDir: deep });
    const worker = await deepRuntime.start({ runtime: 'host', name: 'fn-servable', servableDir: fnDir, runnerDir: RUNNER_DIR });
    workers.push(worker);
    expect((await worker.connection.run('hello', null)).output).toBe('hello world');
    expect(existsSync(deep)).toBe(true);
  });

  it('keeps the worker log bounded: a model writing 20 MB to stderr leaves at most twice the bound on disk', async () => {
    const logDir = join(root, 'bounded-logs');
    const bounded = new HostRuntime({ runDir: join(root, 'run'), logDir, logMaxBytes: 1024 * 1024 });
    const worker = await bounded.start({ runtime: 'host', name: 'fn-servable', servableDir: fnDir, runnerDir: RUNNER_DIR });
    workers.push(worker);
    expect((await worker.connection.run('spew', 20)).output).toBe(20);
    expect((await worker.connection.run('hello', null)).output).toBe('hello world');
    await worker.stop();
    const files = readdirSync(logDir);
    const total = files.reduce((sum, f) => sum + statSync(join(logDir, f)).size, 0);
    expect(files.sort()).toEqual(['host-fn-servable.log', 'host-fn-servable.log.1']);
    expect(total).toBeLessThanOrEqual(2 * 1024 * 1024);
    // The newest output is what stays.
    expect(readFileSync(join(logDir, 'host-fn-servable.log'), 'utf8')).toMatch(/e{1023}\n$/);
  });

  it('reports the model\'s own time: a call that sleeps 0.3 s says so, within what the caller waited', async () => {
    const worker = await start();
    const t0 = performance.now();
    const r = await worker.connection.run('sleep', 0.3);
    const waited = performance.now() - t0;
    expect(r.output).toBe(0.3);
    expect(r.invokeMs).toBeGreaterThanOrEqual(290);
    expect(r.invokeMs).toBeLessThanOrEqual(waited);
  });

  it.each(['socket', 'stdio'] as const)('answers 2000 calls in a row over %s, each with its own input', async (transport) => {
    const worker = await start({ transport });
    for (let i = 0; i < 2000; i++) {
      const r = await worker.connection.run('echo', i);
      if (r.output !== i) throw new Error(`call ${i} returned ${String(r.output)}`);
    }
    expect((await worker.connection.run('echo', 'last')).output).toBe('last');
    seen.splice(0); // 4000 identical headers; the other tests validate these shapes
  });
});

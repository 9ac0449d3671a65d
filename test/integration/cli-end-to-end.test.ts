// The path a scientist takes: a model folder made outside the repository goes through
// `dlhub init`, `dlhub build` and `dlhub run` on both runtimes, and the predictions equal the
// model's own. Uses a real dockerd, a real image, real Python and a real memo.db.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';

const PY = '/usr/bin/python3';
const ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]];

describe('init, build and run a scikit-learn model end to end', () => {
  const work = tempDir('dlhub-e2e-');
  const home = join(work.dir, 'home');
  const modelDir = join(work.dir, 'my iris model');
  let env: Record<string, string>;
  let expected: { predict: number[]; proba: number[][] };

  beforeAll(async () => {
    await requireDocker();
    env = { DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage(), DLHUB_PYTHON: PY };
    execFileSync('mkdir', ['-p', modelDir]);
    // The model's own answers, computed by scikit-learn directly: what dlhub must reproduce.
    const out = execFileSync(PY, ['-c', `
import pickle, json
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
X, y = load_iris(return_X_y=True)
m = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
pickle.dump(m, open(${JSON.stringify(join(modelDir, 'forest.pkl'))}, 'wb'))
rows = ${JSON.stringify(ROWS)}
print(json.dumps({"predict": m.predict(rows).tolist(), "proba": m.predict_proba(rows).tolist()}))
`]).toString();
    expected = JSON.parse(out) as typeof expected;
  });
  afterAll(() => work.cleanup());

  it('init detects the estimator and writes dlhub.json with its methods', async () => {
    const r = await runCli(['init', modelDir, '--name', 'forest', '--title', 'Iris forest', '--creator', 'Doe, Jane', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(join(modelDir, 'dlhub.json'), 'utf8')) as { servable: { methods: Record<string, { input: { shape: unknown[] } }> } };
    expect(Object.keys(doc.servable.methods).sort()).toEqual(['predict', 'predict_proba', 'run']);
    expect(doc.servable.methods['predict']?.input.shape).toEqual([null, 4]);
  });

  it('build makes an image, and an unchanged servable is not rebuilt', async () => {
    const first = await runCli(['build', modelDir, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const built = json<{ image: { tag: string; rebuilt: boolean } }>(first);
    // Named by content, then this home's own tag (another home that builds the same content shares the image).
    expect(built.image.tag).toMatch(/^dlhub\/forest:[0-9a-f]{16}-[0-9a-f]{10}$/);
    const again = json<{ image: { tag: string; rebuilt: boolean } }>(await runCli(['build', modelDir, '--json'], env));
    expect(again.image).toMatchObject({ tag: built.image.tag, rebuilt: false });
  });

  it('runs on Docker with the model\'s own predictions, then answers the repeat from the memo cache', async () => {
    const input = JSON.stringify(ROWS);
    const first = json<{ output: unknown; cached: boolean; runtime: string }>(await runCli(['run', 'forest', '--method', 'predict', '--input', input, '--runtime', 'docker', '--json'], env));
    expect(first).toMatchObject({ output: expected.predict, cached: false, runtime: 'docker' });
    const second = json<{ output: unknown; cached: boolean }>(await runCli(['run', 'forest', '--method', 'predict', '--input', input, '--runtime', 'docker', '--json'], env));
    expect(second).toMatchObject({ output: expected.predict, cached: true });
    const proba = json<{ output: number[][] }>(await runCli(['run', 'forest', '--method', 'predict_proba', '--input', input, '--runtime', 'docker', '--json'], env));
    expect(proba.output).toEqual(expected.proba);
  });

  it('runs on the host runtime with the same predictions', async () => {
    const r = json<{ output: unknown; runtime: string; cached: boolean }>(await runCli(['run', 'forest', '--method', 'predict_proba', '--input', JSON.stringify(ROWS), '--runtime', 'host', '--json'], env));
    expect(r).toMatchObject({ output: expected.proba, runtime: 'host', cached: false });
  });

  it('shows human output with the memo cache marked', async () => {
    const r = await runCli(['run', 'forest', '--method', 'predict', '--input', JSON.stringify(ROWS)], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(JSON.stringify(expected.predict));
    expect(r.stdout).toContain('memo cache hit');
  });

  it('--no-cache computes again', async () => {
    const r = json<{ cached: boolean }>(await runCli(['run', 'forest', '--method', 'predict', '--input', JSON.stringify(ROWS), '--no-cache', '--json'], env));
    expect(r.cached).toBe(false);
  });

  it('describe, ls and cache stats report the servable', async () => {
    const d = json<{ methods: Record<string, unknown>; image: { tag: string } }>(await runCli(['describe', 'forest', '--json'], env));
    expect(Object.keys(d.methods).sort()).toEqual(['predict', 'predict_proba', 'run']);
    const ls = json<{ name: string; image: string }[]>(await runCli(['ls', '--json'], env));
    expect(ls.map((s) => s.name)).toEqual(['forest']);
    const stats = json<{ entries: number; hits: number }>(await runCli(['cache', 'stats', '--json'], env));
    expect(stats.entries).toBeGreaterThanOrEqual(3);
    expect(stats.hits).toBeGreaterThanOrEqual(2);
  });

  it('bad input gets a clear error and changes nothing stored', async () => {
    const before = json<{ entries: number }>(await runCli(['cache', 'stats', '--json'], env)).entries;
    const shape = await runCli(['run', 'forest', '--method', 'predict', '--input', '[[1, 2, 3]]'], env);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/input\[0\].*4/);
    const method = await runCli(['run', 'forest', '--method', 'fly', '--input', '[[1,2,3,4]]'], env);
    expect(method.code).toBe(1);
    expect(method.stderr).toContain('predict_proba');
    const unknown = await runCli(['run', 'nope', '--input', '1'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('forest');
    const badJson = await runCli(['run', 'forest', '--input', '[[1,2'], env);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--input is not valid JSON');
    const big = await runCli(['run', 'forest', '--method', 'predict', '--input', JSON.stringify([Array(4).fill(1.5)]).padEnd(10, ' ')], { ...env, DLHUB_MAX_INPUT_BYTES: '8' });
    expect(big.code).toBe(1);
    expect(big.stderr).toContain('DLHUB_MAX_INPUT_BYTES');
    expect(json<{ entries: number }>(await runCli(['cache', 'stats', '--json'], env)).entries).toBe(before);
  });

  it('with Docker unreachable, --runtime docker names the host runtime, and the default falls back to it', async () => {
    const noDocker = { ...env, DOCKER_HOST: `unix://${join(work.dir, 'no-docker.sock')}` };
    const forced = await runCli(['run', 'forest', '--method', 'predict', '--input', JSON.stringify(ROWS), '--runtime', 'docker', '--no-cache'], noDocker);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain('--runtime host');
    const fallback = json<{ runtime: string; output: unknown }>(await runCli(['run', 'forest', '--method', 'predict', '--input', JSON.stringify(ROWS), '--no-cache', '--json'], noDocker));
    expect(fallback).toMatchObject({ runtime: 'host', output: expected.predict });
  });

  it('leaves no container behind, and rm removes files, image and cached results', async () => {
    // Only this suite's home: other suites and users share the engine.
    expect(homeWorkerContainers(home)).toEqual([]);
    const r = json<{ imageRemoved: boolean; memoEntriesRemoved: number }>(await runCli(['rm', 'forest', '--json'], env));
    expect(r.imageRemoved).toBe(true);
    expect(r.memoEntriesRemoved).toBeGreaterThan(0);
    expect(json<unknown[]>(await runCli(['ls', '--json'], env))).toEqual([]);
  });
});

describe('a Python function servable, with Docker absent from the start', () => {
  const work = tempDir('dlhub-e2e-fn-');
  const dir = join(work.dir, 'stats');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DLHUB_PYTHON: PY, DOCKER_HOST: `unix://${join(work.dir, 'none.sock')}` };
  afterAll(() => work.cleanup());

  it('init, build (host only) and run', async () => {
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'stats.py'), 'def spread(values):\n    """Range of a list of numbers."""\n    return max(values) - min(values)\n\ndef _private():\n    pass\n');
    const init = await runCli(['init', dir, '--title', 'Spread', '--creator', 'Doe, Jane', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    const build = json<{ image: unknown; imageSkipped: string }>(await runCli(['build', dir, '--json'], env));
    expect(build.image).toBeUndefined();
    expect(build.imageSkipped).toMatch(/no Docker/i);
    const run = json<{ output: unknown; runtime: string }>(await runCli(['run', 'stats', '--input', '[3, 9, 4]', '--json'], env));
    expect(run).toMatchObject({ output: 6, runtime: 'host' });
  });
});

describe('tasks, batches and hostile text through the CLI (host runtime)', () => {
  const work = tempDir('dlhub-e2e-tasks-');
  const dir = join(work.dir, 'probe');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DLHUB_PYTHON: PY, DOCKER_HOST: `unix://${join(work.dir, 'none.sock')}` };
  const HOSTILE = 'Evil\u001b[2J\u001b]52;c;cHduZWQ=\u0007 title';
  afterAll(() => work.cleanup());

  beforeAll(async () => {
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'app.py'), 'import time\n\ndef double(x):\n    return [v * 2 for v in x]\n\ndef fail(x):\n    raise ValueError("bad \\x1b[2J input")\n\ndef slow(x):\n    time.sleep(x)\n    return x\n\ndef blob(x):\n    return bytes(x)\n');
    const m = (fn: string, input: Record<string, unknown>) => ({ input, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn, autobatch: false } });
    const list = { type: 'list', item_type: { type: 'number' } };
    writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
      datacite: { titles: [{ title: HOSTILE }], creators: [{ creatorName: 'Doe\u001b]52;c;eA==\u0007, Jane' }], descriptions: [{ description: `About ${HOSTILE}`, descriptionType: 'Abstract' }] },
      dlhub: { name: 'probe', files: { other: ['app.py'] } },
      servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: true, methods: { run: m('double', list), fail: m('fail', { type: 'python object' }), slow: m('slow', { type: 'number' }), blob: m('blob', list) } },
    }));
    const build = await runCli(['build', dir, '--json'], env);
    expect(build.code, build.stderr).toBe(0);
  });

  it('submit prints a task id; task, tasks and status in later processes read it from state.db', async () => {
    const sub = await runCli(['submit', 'probe', '--input', '[1, 2]'], env);
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    expect(id).toMatch(/^\S+$/);
    const task = json<{ id: string; status: string; result: { output: unknown } }>(await runCli(['task', id, '--wait', '--json'], env));
    expect(task).toMatchObject({ id, status: 'succeeded', result: { output: [2, 4] } });
    const human = await runCli(['task', id], env);
    expect(human.stdout).toContain('succeeded');
    expect(human.stdout).toContain('[2,4]');
    const tasks = json<{ id: string }[]>(await runCli(['tasks', '--json'], env));
    expect(tasks.map((t) => t.id)).toContain(id);
    const status = json<{ tasks: { succeeded: number }; cache: { entries: number }; workers: unknown[] }>(await runCli(['status', '--json'], env));
    expect(status.tasks.succeeded).toBeGreaterThanOrEqual(1);
    expect(status.cache.entries).toBeGreaterThanOrEqual(1);
    const statusText = await runCli(['status'], env);
    expect(statusText.stdout).toMatch(/workers\s+0/);
    expect(statusText.stdout).toContain('cache');
  });

  it('a failed task fails `dlhub task`, with the model\'s error; cancel of a finished task says so; unknown ids are typed', async () => {
    const id = (await runCli(['submit', 'probe', '--method', 'fail', '--input', '1'], env)).stdout.trim();
    const failed = await runCli(['task', id], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed');
    expect(failed.stdout).toContain('ValueError');
    expect(failed.stdout).not.toContain('\u001b');
    const missing = await runCli(['task', 'no-such-id', '--json'], env);
    expect(missing.code).toBe(1);
    expect(json<{ error: { code: string } }>(missing).error.code).toBe('TASK_NOT_FOUND');
    const cancelled = await runCli(['cancel', id, '--json'], env);
    expect(json<{ status: string }>(cancelled).status).toBe('failed');
  });

  it('run --batch FILE runs a JSON array of inputs; --batch with --input still works', async () => {
    const file = join(work.dir, 'batch.json');
    writeFileSync(file, JSON.stringify([[1], [2, 3], [4]]));
    const r = json<{ output: unknown }>(await runCli(['run', 'probe', '--batch', file, '--json'], env));
    expect(r.output).toEqual([[2], [4, 6], [8]]);
    const inline = json<{ output: unknown }>(await runCli(['run', 'probe', '--batch', '--input', '[[5], [6]]', '--json'], env));
    expect(inline.output).toEqual([[10], [12]]);
    const notList = join(work.dir, 'nolist.json');
    writeFileSync(notList, '{"x": 1}');
    const bad = await runCli(['run', 'probe', '--batch', notList], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('JSON array of inputs');
  });

  it('--timeout stops a call that runs too long with a typed TIMEOUT', async () => {
    const r = await runCli(['run', 'probe', '--method', 'slow', '--input', '30', '--timeout', '1', '--no-cache', '--json'], env);
    expect(r.code).toBe(1);
    expect(json<{ error: { code: string } }>(r).error.code).toBe('TIMEOUT');
  });

  it('bytes print in the tagged form with --json (never {type: "Buffer"})', async () => {
    const r = json<{ output: unknown }>(await runCli(['run', 'probe', '--method', 'blob', '--input', '[104, 105]', '--json'], env));
    expect(r.output).toEqual({ $bytes: Buffer.from('hi').toString('base64') });
  });

  it('--input-file /dev/zero stops at the input limit instead of growing without bound', async () => {
    const r = await runCli(['run', 'probe', '--input-file', '/dev/zero'], { ...env, DLHUB_MAX_INPUT_BYTES: '1000000' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DLHUB_MAX_INPUT_BYTES');
  });

  it('a fresh `dlhub search` loads no Docker client and opens no memo.db', async () => {
    const home = join(work.dir, 'fresh-home');
    const r = await runCli(['search', 'anything'], { ...env, DLHUB_HOME: home, NODE_DEBUG: 'module' });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('node_modules/better-sqlite3');
    expect(r.stderr).not.toContain('node_modules/dockerode');
    // The metadata validator (ajv's compiler) and the image builder (tar-fs) are not on search's path either.
    expect(r.stderr).not.toContain('node_modules/ajv/dist/ajv.js');
    expect(r.stderr).not.toContain('node_modules/tar-fs');
    expect(existsSync(join(home, 'memo.db'))).toBe(false);
  });

  it('a fresh `dlhub run` answered from the memo cache loads no Docker client, image builder or metadata validator', async () => {
    const first = json<{ cached: boolean }>(await runCli(['run', 'probe', '--input', '[7, 8]', '--json'], env));
    expect(first.cached).toBe(false);
    const r = await runCli(['run', 'probe', '--input', '[7, 8]', '--json'], { ...env, NODE_DEBUG: 'module' });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(json<{ output: unknown; cached: boolean }>(r)).toMatchObject({ output: [14, 16], cached: true });
    expect(r.stderr).toContain('node_modules/better-sqlite3');
    expect(r.stderr).not.toContain('node_modules/dockerode');
    expect(r.stderr).not.toContain('node_modules/tar-fs');
    expect(r.stderr).not.toContain('node_modules/ajv/dist/ajv.js');
  });

  it('search, ls, describe and model errors print no terminal escapes', async () => {
    for (const args of [['search', 'Evil'], ['ls'], ['describe', 'probe'], ['run', 'probe', '--method', 'fail', '--input', '1']]) {
      const r = await runCli(args, env);
      // eslint-disable-next-line no-control-regex -- the assertion is about control characters
      expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }
    expect((await runCli(['search', 'Evil'], env)).stdout).toContain('Evil[2J]52;c;cHduZWQ= title');
    // --json keeps the text, escaped.
    const j = json<{ hits: { title: string }[] }>(await runCli(['search', 'Evil', '--json'], env));
    expect(j.hits[0]?.title).toBe(HOSTILE);
  });
});

// The path a scientist takes: a model folder made outside the repository goes through
// `dlhub init`, `dlhub build` and `dlhub run` on both runtimes, and the predictions equal the
// model's own. Uses a real dockerd, a real image, real Python and a real memo.db.
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';

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
    expect(built.image.tag).toMatch(/^dlhub\/forest:[0-9a-f]{16}$/);
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
    expect(Object.keys(d.methods).sort()).toEqual(['predict', 'predict_proba']);
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
    const ps = execFileSync('docker', ['ps', '-aq', '--filter', 'label=org.dlhub.worker']).toString().trim();
    expect(ps).toBe('');
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

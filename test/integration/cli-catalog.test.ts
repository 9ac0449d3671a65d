// The catalog from the command line: a USB-stick import on a machine with no network, searches
// in both of DLHub's forms, malformed queries, export, and local builds appearing in results.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';

function record(name: string, owner: string, type: string, domains: string[], title: string, year: number, version = '1.0.0'): Record<string, unknown> {
  return {
    datacite: { titles: [{ title }], creators: [{ creatorName: 'Ward, Logan' }], publicationYear: String(year), descriptions: [{ description: `${title} for researchers`, descriptionType: 'Abstract' }] },
    dlhub: { name, owner, version, domains, files: { model: type === 'Keras Model' ? 'model.h5' : 'model.pkl' } },
    servable: { type, shim: type === 'Keras Model' ? 'keras.KerasServable' : 'sklearn.ScikitLearnServable', methods: { run: { input: { type: 'ndarray', shape: [null, 4] }, output: { type: 'ndarray', shape: [null] } } } },
  };
}

describe('dlhub search and dlhub catalog', () => {
  const work = tempDir('dlhub-cli-catalog-');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DOCKER_HOST: `unix://${join(work.dir, 'none.sock')}` };
  const file = join(work.dir, 'catalog.jsonl');
  afterAll(() => work.cleanup());

  it('imports a JSON Lines catalog, reporting a bad line by number and keeping the rest', async () => {
    const lines = [
      record('band-gap', 'ward', 'Keras Model', ['chemistry', 'materials science'], 'Band gap predictor', 2018),
      record('formation-enthalpy', 'ward', 'Scikit-learn estimator', ['chemistry'], 'Formation enthalpy from composition', 2019),
      record('cifar10', 'blaiszik', 'Keras Model', ['image recognition'], 'CIFAR-10 deep learning classifier', 2020),
      record('cifar10', 'blaiszik', 'Keras Model', ['image recognition'], 'CIFAR-10 deep learning classifier', 2021, '2.0.0'),
    ].map((r) => JSON.stringify(r));
    lines.splice(2, 0, '{"datacite": {"titles": []}, "dlhub": {}}');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await runCli(['catalog', 'import', file, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const report = json<{ imported: number; skipped: number; errors: { line: number; problems: { field: string }[] }[] }>(r);
    expect(report).toMatchObject({ imported: 4, skipped: 1 });
    expect(report.errors[0]?.line).toBe(3);
    expect(report.errors[0]?.problems.length).toBeGreaterThan(0);
  });

  it('answers a free-text search, newest version only unless asked', async () => {
    const r = json<{ total: number; hits: { servable: string; version: string }[] }>(await runCli(['search', 'deep learning', '--json'], env));
    expect(r.hits.map((h) => `${h.servable}@${h.version}`)).toEqual(['blaiszik/cifar10@2.0.0']);
    const all = json<{ hits: { version: string }[] }>(await runCli(['search', 'deep learning', '--all-versions', '--json'], env));
    expect(all.hits.map((h) => h.version).sort()).toEqual(['1.0.0', '2.0.0']);
  });

  it('answers DLHub field queries with facets', async () => {
    const r = json<{ hits: { servable: string }[]; facets: { domains: { value: string; count: number }[] } }>(
      await runCli(['search', '--advanced', 'servable.type:"Keras Model" AND dlhub.domains:"chemistry"', '--json'], env),
    );
    expect(r.hits.map((h) => h.servable)).toEqual(['ward/band-gap']);
    expect(r.facets.domains).toEqual(expect.arrayContaining([{ value: 'chemistry', count: 1 }]));
    const range = json<{ hits: { servable: string }[] }>(await runCli(['search', '--advanced', 'dlhub.domains:chemistry AND datacite.publicationYear:[2019 TO 2020]', '--json'], env));
    expect(range.hits.map((h) => h.servable)).toEqual(['ward/formation-enthalpy']);
    const human = await runCli(['search', '--advanced', 'dlhub.name:form*'], env);
    expect(human.stdout).toContain('ward/formation-enthalpy');
    expect(human.stdout).toContain('1 result');
  });

  it('shows where a malformed query went wrong', async () => {
    const r = await runCli(['search', '--advanced', 'servable.type: AND x'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/position \d+/);
    expect(r.stderr).toContain('^');
  });

  it('exports what another machine imports to the same results', async () => {
    const out = join(work.dir, 'usb.jsonl');
    const exported = json<{ written: number }>(await runCli(['catalog', 'export', out, '--all-versions', '--json'], env));
    expect(exported.written).toBe(4);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(4);
    const other = { ...env, DLHUB_HOME: join(work.dir, 'lab-machine') };
    expect(json<{ imported: number }>(await runCli(['catalog', 'import', out, '--json'], other)).imported).toBe(4);
    const q = ['search', '--advanced', 'servable.type:"Keras Model"', '--all-versions', '--json'];
    const here = json<{ hits: { servable: string; version: string }[] }>(await runCli(q, env)).hits.map((h) => `${h.servable}@${h.version}`).sort();
    const there = json<{ hits: { servable: string; version: string }[] }>(await runCli(q, other)).hits.map((h) => `${h.servable}@${h.version}`).sort();
    expect(there).toEqual(here);
  });

  it('lists a local build as local, and rm takes it out of the catalog', async () => {
    const build = await runCli(['build', resolve('examples/noop'), '--runtime', 'host', '--json'], env);
    expect(build.code, build.stderr).toBe(0);
    const found = json<{ hits: { servable: string; local: boolean }[] }>(await runCli(['search', '--advanced', 'dlhub.name:noop', '--json'], env));
    expect(found.hits).toEqual([expect.objectContaining({ servable: 'noop', local: true })]);
    expect((await runCli(['rm', 'noop'], env)).code).toBe(0);
    expect(json<{ total: number }>(await runCli(['search', '--advanced', 'dlhub.name:noop', '--json'], env)).total).toBe(0);
  });
});

describe('dlhub search and dlhub catalog with hostile input', () => {
  const work = tempDir('dlhub-cli-catalog-hostile-');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DOCKER_HOST: `unix://${join(work.dir, 'none.sock')}` };
  afterAll(() => work.cleanup());

  it('imports a catalog with a deeply nested record: that line is reported with the depth limit, the rest imported and exported', async () => {
    const good = record('band-gap', 'ward', 'Keras Model', ['chemistry'], 'Band gap predictor with constructor toString words', 2018);
    const deep = record('deep', 'ward', 'Keras Model', ['chemistry'], 'Deep record', 2019) as { servable: { methods: { run: Record<string, unknown> } } };
    deep.servable.methods.run['parameters'] = { a: 'leaf' };
    const deepLine = JSON.stringify(deep).replace('"leaf"', `${'['.repeat(3000)}${']'.repeat(3000)}`);
    const file = join(work.dir, 'in.jsonl');
    writeFileSync(file, `${JSON.stringify(good)}\n${deepLine}\n`);
    const report = json<{ imported: number; skipped: number; errors: { line: number; problems: { message: string }[] }[] }>(await runCli(['catalog', 'import', file, '--json'], env));
    expect(report).toMatchObject({ imported: 1, skipped: 1 });
    expect(report.errors[0]?.line).toBe(2);
    expect(report.errors[0]?.problems[0]?.message).toMatch(/the limit is 64/);
    const out = join(work.dir, 'out.jsonl');
    expect(json<{ written: number }>(await runCli(['catalog', 'export', out, '--json'], env)).written).toBe(1);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('opens the saved index as saved in each new process after an import, never rebuilding it', async () => {
    const own = { ...env, DLHUB_HOME: join(work.dir, 'home-index'), DLHUB_DEBUG: '1' };
    const file = join(work.dir, 'two.jsonl');
    writeFileSync(file, [record('a-model', 'ward', 'Keras Model', ['chemistry'], 'Band gap', 2018), record('b-model', 'ward', 'Keras Model', [], 'Other', 2019)].map((r) => JSON.stringify(r)).join('\n'));
    expect((await runCli(['catalog', 'import', file], own)).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['search', 'band'], own);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/catalog index (loaded|caught-up) in \d+ ms/);
    }
  });

  it('treats Object.prototype names as words, and answers a pathological wildcard', async () => {
    const hits = async (args: string[]): Promise<string[]> => json<{ hits: { servable: string }[] }>(await runCli(['search', ...args, '--json'], env)).hits.map((h) => h.servable);
    expect(await hits(['constructor'])).toEqual(['ward/band-gap']);
    expect(await hits(['--advanced', 'constructor AND title:toString'])).toEqual(['ward/band-gap']);
    expect(await hits(['--advanced', 'dlhub.name:__proto__'])).toEqual([]);
    expect(await hits(['--advanced', '*e*e*e*e*e*e*zz'])).toEqual([]);
    const unknown = await runCli(['search', '--advanced', 'toString:x'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown field 'toString'");
  });

  it('refuses an over-long, too deeply nested or wildcard-heavy query with the limit it broke', async () => {
    const cases: [string[], RegExp][] = [
      [['x'.repeat(5000)], /5000 characters, over the limit of 4096/],
      [['--advanced', `${'('.repeat(2000)}a${')'.repeat(2000)}`], /more than 32 levels .* at position 32/],
      [['--advanced', `${'NOT '.repeat(40)}a`], /more than 32 levels/],
      [['--advanced', `a${'*a'.repeat(11)}`], /over the limit of 10 per term/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['search', ...args], env);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('describes a servable known only from the catalog, showing the fields a DLHub service added', async () => {
    const hub = { DLHUB_HOME: join(work.dir, 'hub-home'), DOCKER_HOST: env.DOCKER_HOST };
    const imported = await runCli(['catalog', 'import', resolve('test/fixtures/dlhub/records/search-records.jsonl'), '--json'], hub);
    expect(imported.code, imported.stderr).toBe(0);
    // A bare name finds the one owner's record; owner/name always does.
    for (const name of ['iris_svm', 'dlhub_globusid/iris_svm']) {
      const d = json<{ name: string; source: string; image?: unknown; serviceFields: Record<string, unknown> }>(await runCli(['describe', name, '--json'], hub));
      expect(d).toMatchObject({ name: 'dlhub_globusid/iris_svm', source: 'catalog' });
      expect(d.image).toBeUndefined();
      expect(d.serviceFields['dlhub.funcx_id']).toBe('6e2a2f0c-4b53-4a35-8d9c-7d2b0a9e5f11');
    }
    const human = await runCli(['describe', 'iris_svm'], hub);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('not built on this machine');
    expect(human.stdout).toMatch(/dlhub\.ecr_uri\s+039706667969\.dkr\.ecr/);
    // Free text finds a servable by its name, as a user who knows it types it.
    const found = json<{ hits: { servable: string }[] }>(await runCli(['search', 'iris_svm', '--json'], hub));
    expect(found.hits.map((h) => h.servable)).toEqual(['dlhub_globusid/iris_svm']);
    const missing = await runCli(['describe', 'no-such-model'], hub);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No servable named "no-such-model"');
  });
});

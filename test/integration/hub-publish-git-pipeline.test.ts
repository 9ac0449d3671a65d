/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// Publishing from a git repository and publishing pipelines, against the real hub (`dlhub-hub serve`
// with its managed docker-registry and token auth) and the real dockerd. alice publishes a servable
// from a git repository made here (by path, then by file:// URL at a tag); its URL and commit are in
// the published metadata; bob pulls and runs it. A repository with no dlhub.json is refused. alice
// publishes a pipeline of two servables built here: the steps are published first and pinned; bob
// pulls the pipeline, its pinned steps come with it, and it runs with the hub stopped. carol, who may
// see a public pipeline but not its steps, is refused with the step named, and nothing is left here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireDocker } from '../helpers/docker.js';
import { json, runCli } from '../helpers/cli.js';
import { engineServable } from '../helpers/engine.js';
import { hubWorld } from '../helpers/hub-world.js';

const NOOP = join(import.meta.dirname, '../../examples/noop');
const world = hubWorld('dlhub-hub-git-pipeline-', ['alice', 'bob', 'carol']);
const { dir, homes, url } = world;
type Who = keyof typeof homes;

/** Two step functions: the pipeline doubles, then adds one. */
const STEPS_APP = `
def double(x):
    return x * 2

def inc(x):
    return x + 1
`;

const startHub = (): Promise<void> => world.start();
const stopHub = (): Promise<void> => world.stop();

function dlhub(who: Who, args: string[]) {
  return runCli([...args, '--json'], { DLHUB_HOME: homes[who] });
}

function ok(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return json(r);
}

function refused(r: { code: number; stdout: string; stderr: string }): any {
  if (r.code === 0) throw new Error(`expected a refusal, got: ${r.stdout}`);
  return json<any>(r).error;
}

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.org', GIT_COMMITTER_NAME: 'Alice', GIT_COMMITTER_EMAIL: 'alice@example.org' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

/** The noop example as a git repository of its own, named git-noop, at version `version`. */
function noopRepo(): string {
  const repo = join(dir.path, 'noop-repo');
  cpSync(NOOP, repo, { recursive: true });
  setVersion(repo, '1.0.0');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'git-noop 1.0.0');
  return repo;
}

function setVersion(repo: string, version: string): void {
  const file = join(repo, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8'));
  md.dlhub.name = 'git-noop';
  md.dlhub.version = version;
  writeFileSync(file, JSON.stringify(md, null, 2));
}

/** A hub record as `who` sees it (a straight call to the hub's API with their token). */
async function hubRecord(who: Who, owner: string, name: string, version: string): Promise<any> {
  const token = JSON.parse(readFileSync(join(homes[who], 'credentials', 'hub.json'), 'utf8')).token as string;
  const res = await fetch(`${url()}/v1/servables/${owner}/${name}/versions/${version}`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as any).result;
}

const names = (who: Who): Promise<string[]> => dlhub(who, ['ls']).then((r) => ok(r).map((s: any) => s.name as string).sort());

beforeAll(async () => {
  await requireDocker();
  await world.setUp();
  await startHub();
  for (const who of ['alice', 'bob', 'carol'] as const) ok(await dlhub(who, ['login', '--hub', url(), '--user', who, '--password', `${who}-pw`]));
}, 120_000);

afterAll(async () => {
  await stopHub();
  for (const who of ['alice', 'bob', 'carol'] as const) {
    for (const name of ['git-noop', 'steps-flow', 'steps-flow-public', 'step-double', 'step-inc']) await runCli(['rm', name], { DLHUB_HOME: homes[who] }).catch(() => undefined);
  }
  dir.remove();
}, 120_000);

describe('publish from a git repository', () => {
  let repo = '';

  it('publishes a repository by its path with its URL and commit recorded; bob pulls and runs it', async () => {
    repo = noopRepo();
    const commit = git(repo, 'rev-parse', 'HEAD');
    const r = ok(await dlhub('alice', ['publish', '--repo', repo, '--visibility', 'group:lab']));
    expect(r).toMatchObject({ repository: pathToFileURL(repo).href, commit, name: 'git-noop', publish: { status: 'published', owner: 'alice', name: 'git-noop', version: '1.0.0' } });
    expect(r.publish.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The clone is gone; the servable is built here.
    expect(readdirSync(join(homes.alice, 'staging'))).toEqual([]);
    expect(await names('alice')).toEqual(['git-noop']);

    const record = await hubRecord('bob', 'alice', 'git-noop', '1.0.0');
    expect(record.metadata.datacite.relatedIdentifiers).toEqual([
      { relatedIdentifier: pathToFileURL(repo).href, relatedIdentifierType: 'URL', relationType: 'IsDerivedFrom' },
      { relatedIdentifier: `swh:1:rev:${commit}`, relatedIdentifierType: 'SWHID', relationType: 'IsDerivedFrom' },
    ]);

    expect(ok(await dlhub('bob', ['pull', 'alice/git-noop']))).toMatchObject({ owner: 'alice', name: 'git-noop', version: '1.0.0', digest: r.publish.digest });
    expect(ok(await dlhub('bob', ['run', 'git-noop', '--input', '{"x": 1}', '--runtime', 'docker'])).output).toBe('hello world');
    // The same commit again is the hub's no-op.
    expect(ok(await dlhub('alice', ['publish', '--repo', repo])).publish).toMatchObject({ status: 'unchanged', version: '1.0.0' });
  }, 600_000);

  it('publishes by file:// URL at a tag: the tag\'s commit is built, not the branch\'s newer one', async () => {
    setVersion(repo, '1.1.0');
    git(repo, 'commit', '-q', '-am', 'git-noop 1.1.0');
    git(repo, 'tag', 'v1.1');
    const tagged = git(repo, 'rev-parse', 'HEAD');
    setVersion(repo, '1.2.0-dev');
    git(repo, 'commit', '-q', '-am', 'work in progress');
    const r = ok(await dlhub('alice', ['publish', '--repo', pathToFileURL(repo).href, '--ref', 'v1.1', '--visibility', 'group:lab']));
    expect(r).toMatchObject({ commit: tagged, publish: { status: 'published', version: '1.1.0' } });
    expect((await hubRecord('bob', 'alice', 'git-noop', '1.1.0')).metadata.datacite.relatedIdentifiers[1].relatedIdentifier).toBe(`swh:1:rev:${tagged}`);
    expect(ok(await dlhub('bob', ['pull', 'alice/git-noop@1.1.0']))).toMatchObject({ version: '1.1.0', unchanged: false });
    expect(ok(await dlhub('bob', ['run', 'git-noop', '--input', '{"x": 2}', '--runtime', 'docker'])).output).toBe('hello world');
  }, 600_000);

  it('refuses a repository without dlhub.json at its root, and a folder that is no repository; nothing is published or left', async () => {
    const bare = join(dir.path, 'no-metadata');
    mkdirSync(join(bare, 'model'), { recursive: true });
    writeFileSync(join(bare, 'README.md'), 'a model, some day\n');
    writeFileSync(join(bare, 'model', 'dlhub.json'), readFileSync(join(NOOP, 'dlhub.json')));
    git(bare, 'init', '-q', '-b', 'main');
    git(bare, 'add', '-A');
    git(bare, 'commit', '-q', '-m', 'nothing at the root');
    const err = refused(await dlhub('alice', ['publish', '--repo', bare]));
    expect(err).toMatchObject({ code: 'REPOSITORY_INVALID', name: 'RepositoryError' });
    expect(err.message).toContain('no dlhub.json at its root');
    const notRepo = refused(await dlhub('alice', ['publish', '--repo', join(dir.path, 'nowhere')]));
    expect(notRepo.code).toBe('REPOSITORY_INVALID');
    expect(refused(await dlhub('alice', ['publish', '--repo', 'ext::sh -c touch% /tmp/x'])).code).toBe('USAGE');
    expect(readdirSync(join(homes.alice, 'staging'))).toEqual([]);
    expect(await names('alice')).toEqual(['git-noop']);
  }, 120_000);
});

describe('pipelines with pinned steps', () => {
  it('publishing a pipeline publishes its steps first and pins them', async () => {
    const src = join(dir.path, 'steps');
    for (const [name, fn] of [['step-double', 'double'], ['step-inc', 'inc']] as const) {
      ok(await dlhub('alice', ['build', engineServable(src, name, fn, true, STEPS_APP)]));
    }
    const flow = join(src, 'steps-flow');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'dlhub.json'), JSON.stringify({
      datacite: { titles: [{ title: 'Double then add one' }], creators: [{ creatorName: 'Doe, Jane' }] },
      dlhub: { name: 'steps-flow', version: '1.0.0' },
      servable: { type: 'pipeline', steps: [{ servable: 'step-double' }, { servable: 'step-inc' }] },
    }));
    ok(await dlhub('alice', ['build', flow]));
    expect(ok(await dlhub('alice', ['run', 'steps-flow', '--input', '5'])).output).toBe(11);

    const r = ok(await dlhub('alice', ['publish', 'steps-flow', '--visibility', 'group:lab']));
    expect(r).toMatchObject({ status: 'published', owner: 'alice', name: 'steps-flow', version: '1.0.0' });
    expect(r.digest).toBeUndefined();
    const record = await hubRecord('bob', 'alice', 'steps-flow', '1.0.0');
    expect(record.image).toBeUndefined();
    expect(record.metadata.servable.steps.map((s: any) => s.servable)).toEqual(['alice/step-double@1.0.0', 'alice/step-inc@1.0.0']);
    // The steps went with the pipeline's visibility.
    expect((await hubRecord('bob', 'alice', 'step-inc', '1.0.0')).visibility).toEqual({ groups: ['lab'] });
    // Again: nothing changes.
    expect(ok(await dlhub('alice', ['publish', 'steps-flow']))).toMatchObject({ status: 'unchanged', version: '1.0.0' });
  }, 600_000);

  it('bob pulls the pipeline with its pinned steps, and it runs with the hub stopped', async () => {
    const pulled = ok(await dlhub('bob', ['pull', 'alice/steps-flow']));
    expect(pulled).toMatchObject({ owner: 'alice', name: 'steps-flow', version: '1.0.0', steps: ['alice/step-double@1.0.0', 'alice/step-inc@1.0.0'] });
    expect(await names('bob')).toEqual(['git-noop', 'step-double', 'step-inc', 'steps-flow']);
    await stopHub();
    try {
      const run = ok(await dlhub('bob', ['run', 'steps-flow', '--input', '20', '--runtime', 'docker']));
      expect(run.output).toBe(41);
      expect(run.steps.map((s: any) => s.servable)).toEqual(['step-double', 'step-inc']);
    } finally {
      await startHub();
    }
  }, 600_000);

  it('a user who may see a pipeline but not its steps cannot pull it: the step is named and nothing is left', async () => {
    // The steps keep their group visibility; the new pipeline is public.
    const flow = join(dir.path, 'steps', 'steps-flow-public');
    mkdirSync(flow, { recursive: true });
    const md = JSON.parse(readFileSync(join(dir.path, 'steps', 'steps-flow', 'dlhub.json'), 'utf8'));
    md.dlhub.name = 'steps-flow-public';
    writeFileSync(join(flow, 'dlhub.json'), JSON.stringify(md));
    ok(await dlhub('alice', ['build', flow]));
    expect(ok(await dlhub('alice', ['publish', 'steps-flow-public', '--visibility', 'public']))).toMatchObject({ status: 'published' });
    expect((await hubRecord('carol', 'alice', 'steps-flow-public', '1.0.0')).metadata.servable.steps[0].servable).toBe('alice/step-double@1.0.0');

    const err = refused(await dlhub('carol', ['pull', 'alice/steps-flow-public']));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('step 1 is alice/step-double@1.0.0, which you may not see');
    expect(await names('carol')).toEqual([]);
    // A group member may use it.
    expect(ok(await dlhub('bob', ['pull', 'alice/steps-flow-public']))).toMatchObject({ steps: ['alice/step-double@1.0.0', 'alice/step-inc@1.0.0'] });
  }, 600_000);
});

// schemas/openapi.json is a document a client generator can trust: openapi-typescript turns it into
// types that type-check a small openapi-fetch client, and that client runs the iris servable and a
// task against a real `dlhub serve --http`, every answer matching the document's own schema.
import { spawn, execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import createClient from 'openapi-fetch';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, testBaseImage } from '../helpers/docker.js';
import { runCli, tempDir } from '../helpers/cli.js';

const DOC = JSON.parse(readFileSync(resolve('schemas/openapi.json'), 'utf8')) as Record<string, unknown>;

// Under node_modules so the generated file resolves openapi-fetch as a user's project would.
const GEN = resolve('node_modules/.cache', `dlhub-openapi-client-${process.pid}`);

const TYPED_CLIENT = `import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type Value = components['schemas']['Value'];
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1', headers: { authorization: 'Bearer x' } });

export async function run(): Promise<Value> {
  const { data, error } = await client.POST('/v1/servables/{name}/run', { params: { path: { name: 'iris' } }, body: { input: [[5.1, 3.5, 1.4, 0.2]], noCache: true } });
  if (error) throw new Error(error.error.code);
  const ms: number = data.result.elapsedMs;
  void ms;
  // @ts-expect-error noCache is a boolean in the document
  await client.POST('/v1/servables/{name}/run', { params: { path: { name: 'iris' } }, body: { noCache: 'yes' } });
  const task = await client.POST('/v1/servables/{name}/tasks', { params: { path: { name: 'iris' } }, body: { input: [[1, 2, 3, 4]] } });
  const status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | undefined = task.data?.result.status;
  void status;
  const done = await client.GET('/v1/tasks/{id}/result', { params: { path: { id: task.data?.result.id ?? '' }, query: { waitMs: 1000 } } });
  return done.data!.result.output;
}
`;

/** Validates answers against the document's own schemas (JSON Schema 2020-12, as OpenAPI 3.1 says). */
function answerChecker(): (path: string, method: string, body: unknown) => void {
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema(DOC, 'openapi');
  return (path, method, body) => {
    const pointer = `/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/200/content/application~1json/schema`;
    const check = ajv.compile({ $ref: `openapi#${pointer.replace(/[{}]/g, encodeURIComponent)}` });
    if (!check(body)) throw new Error(`${method} ${path}: ${JSON.stringify(check.errors)}`);
  };
}

describe('a client generated from schemas/openapi.json', () => {
  const work = tempDir('dlhub-openapi-client-');
  const home = join(work.dir, 'home');
  let env: Record<string, string>;
  let serve: ReturnType<typeof spawn> | undefined;
  let url = '';
  let token = '';

  beforeAll(async () => {
    await requireDocker();
    env = { DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage() };
    const iris = join(work.dir, 'iris');
    cpSync(resolve('examples/iris'), iris, { recursive: true });
    const built = await runCli(['build', iris], env);
    expect(built.code, built.stderr).toBe(0);
    serve = spawn(process.execPath, [resolve('bin/dlhub.js'), 'serve', '--http', '127.0.0.1:0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    serve.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/HTTP API on/.test(log) && serve.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(log).toMatch(/HTTP API on/);
    url = readFileSync(join(home, 'run', 'api-url'), 'utf8').trim();
    token = readFileSync(join(home, 'run', 'api-token'), 'utf8').trim();
  }, 900_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const closed = new Promise((r) => serve?.once('close', r));
      serve.kill('SIGTERM');
      await closed;
    }
    rmSync(GEN, { recursive: true, force: true });
    work.cleanup();
  }, 60_000);

  it('generates types that type-check a typed openapi-fetch client (a wrong field type is an error)', async () => {
    mkdirSync(GEN, { recursive: true });
    writeFileSync(join(GEN, 'api.d.ts'), astToString(await openapiTS(DOC as never)));
    writeFileSync(join(GEN, 'client.ts'), TYPED_CLIENT);
    const tsc = resolve('node_modules/.bin/tsc');
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', join(GEN, 'client.ts')];
    await expect(promisify(execFile)(tsc, args, { cwd: GEN })).resolves.toBeDefined();
  }, 120_000);

  it('runs the iris servable and a task through the generated client, every answer matching the document', async () => {
    const checkAnswer = answerChecker();
    // Untyped at run time (the types were checked above); openapi-fetch builds the requests from the paths.
    const client = createClient<Record<string, never>>({ baseUrl: url, headers: { authorization: `bearer ${token}` } }) as unknown as {
      GET(path: string, init: object): Promise<{ data?: { result: Record<string, unknown> }; error?: { error: { code: string } }; response: Response }>;
      POST(path: string, init: object): Promise<{ data?: { result: Record<string, unknown> }; error?: { error: { code: string } }; response: Response }>;
    };
    const ran = await client.POST('/v1/servables/{name}/run', { params: { path: { name: 'iris' } }, body: { input: [[5.1, 3.5, 1.4, 0.2]] } });
    expect(ran.error).toBeUndefined();
    checkAnswer('/v1/servables/{name}/run', 'post', ran.data);
    expect(ran.data?.result).toMatchObject({ servable: 'iris', runtime: 'docker' });
    const output = ran.data?.result['output'];
    expect(output).not.toBeNull();

    const submitted = await client.POST('/v1/servables/{name}/tasks', { params: { path: { name: 'iris' } }, body: { input: [[5.1, 3.5, 1.4, 0.2]] } });
    checkAnswer('/v1/servables/{name}/tasks', 'post', submitted.data);
    const id = submitted.data?.result['id'] as string;
    const result = await client.GET('/v1/tasks/{id}/result', { params: { path: { id }, query: { waitMs: 60_000 } } });
    expect(result.error).toBeUndefined();
    checkAnswer('/v1/tasks/{id}/result', 'get', result.data);
    // The task ran the same input: the same answer, in the same wire form.
    expect(result.data?.result['output']).toEqual(output);
    const task = await client.GET('/v1/tasks/{id}', { params: { path: { id } } });
    checkAnswer('/v1/tasks/{id}', 'get', task.data);
    expect(task.data?.result['status']).toBe('succeeded');

    // A query boolean as Python's urlencode spells it; an unknown servable answers its declared 404.
    const found = await client.GET('/v1/search', { params: { query: { query: 'iris', allVersions: 'True' } } });
    checkAnswer('/v1/search', 'get', found.data);
    const missing = await client.GET('/v1/servables/{name}', { params: { path: { name: 'no-such-servable' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('SERVABLE_NOT_FOUND');
    const declared = (DOC['paths'] as Record<string, Record<string, { responses: Record<string, unknown> }>>)['/v1/servables/{name}']?.['get']?.responses;
    expect(Object.keys(declared ?? {})).toContain('404');
  }, 300_000);
});

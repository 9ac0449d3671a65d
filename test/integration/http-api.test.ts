// The doors: the same run in-process, through the local service's Unix socket and through the HTTP
// API gives the same value (bytes and ndarrays included) and the same error class; the HTTP API
// checks its token, Host and Origin, and bad bodies get typed 400s naming the field.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { createHttpDoor, listenOnSocket, listenOnTcp, type HttpGuard, type RunningDoor } from '../../main/api/doors/http-door.js';
import { createClient, type ClientOperations } from '../../main/api/doors/client.js';
import { serviceAnswers, socketTransport } from '../../main/api/doors/socket-transport.js';
import { httpTransport } from '../../main/api/doors/http-transport.js';
import { ModelError, ServiceError, UsageError } from '../../main/errors.js';
import { NdArray } from '../../main/runtime/protocol/values.js';
import { tempDir } from '../helpers/cli.js';

const APP = `
import time
import numpy as np

def make(x):
    if x == -1:
        raise ValueError("minus one is not allowed")
    return {"bytes": bytes([0, 1, 2, 255]), "array": np.arange(6, dtype=np.float32).reshape(2, 3) * x,
            "nested": [x, {"k": b"\\x00z"}, np.array([True, False])]}

def echo(x):
    return x

def nap(x):
    time.sleep(x)
    return x
`;

function method(fn: string): Record<string, unknown> {
  return { input: { type: 'python object' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn, autobatch: false } };
}

/** A function servable returning bytes and ndarrays, on the host runtime (Debian's Python has numpy). */
function writeServable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'Codec probe' }], creators: [{ creatorName: 'Test' }] },
    dlhub: { name: 'codec-probe', files: { other: ['app.py'] }, dependencies: { python: { numpy: '' } } },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: method('make'), echo: method('echo'), nap: method('nap') }, deterministic: true },
  }));
  return dir;
}

async function raw(url: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: { result?: unknown; error?: { code: string; message: string; name: string } } }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, body: (await res.json()) as never };
}

/** A GET with any Host header (fetch may not set Host). */
function getWithHost(url: string, host: string, token: string): Promise<{ status: number; body: { error?: { message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('doors', () => {
  const work = tempDir('dlhub-doors-');
  let dlhub: Dlhub;
  let local: RunningDoor;
  let http: RunningDoor;
  let guard: HttpGuard;
  let base: string;
  let sock: ClientOperations;
  let web: ClientOperations;

  beforeAll(async () => {
    dlhub = new Dlhub({ home: join(work.dir, 'home') });
    await dlhub.buildServable({ dir: writeServable(join(work.dir, 'probe')), runtime: 'host' });
    local = createHttpDoor(dlhub);
    const socketPath = join(dlhub.paths.run, 'service.sock');
    await listenOnSocket(local, socketPath, serviceAnswers);
    sock = createClient(socketTransport({ socketPath }));
    guard = { token: 'test-token-123', hosts: new Set(), origins: new Set() };
    http = createHttpDoor(dlhub, { guard });
    const port = await listenOnTcp(http, '127.0.0.1', 0);
    guard.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
    guard.origins = new Set([`http://127.0.0.1:${port}`]);
    base = `http://127.0.0.1:${port}`;
    web = createClient(httpTransport({ baseUrl: base, token: guard.token }));
  });

  afterAll(async () => {
    await local?.stop(1000);
    await http?.stop(1000);
    await dlhub?.close();
    work.cleanup();
  });

  it('answers the same value in-process, over the Unix socket and over HTTP: bytes, ndarrays and nesting intact', async () => {
    const req = { name: 'codec-probe', input: 2, noCache: true, runtime: 'host' as const };
    const inProcess = await dlhub.runServable(req);
    const output = inProcess.output as { bytes: unknown; array: unknown; nested: unknown[] };
    expect(Buffer.isBuffer(output.bytes)).toBe(true);
    expect(output.array).toBeInstanceOf(NdArray);
    expect((output.array as NdArray).shape).toEqual([2, 3]);
    for (const ep of [sock, web]) {
      const through = await ep.runServable(req);
      expect(through.output).toEqual(inProcess.output);
      const o = through.output as typeof output;
      expect(Buffer.isBuffer(o.bytes)).toBe(true);
      expect([...(o.bytes as Buffer)]).toEqual([0, 1, 2, 255]);
      expect(o.array).toBeInstanceOf(NdArray);
      expect((o.array as NdArray).toJSON()).toEqual([[0, 2, 4], [6, 8, 10]]);
      expect(o.nested[2]).toBeInstanceOf(NdArray);
    }
  });

  it('sends bytes and ndarray inputs through every door unchanged', async () => {
    const input = { b: Buffer.from([9, 8, 7]), a: NdArray.from(new Float64Array([1.5, -2]), [2, 1]), s: 'x' };
    const req = { name: 'codec-probe', method: 'echo', input, noCache: true, runtime: 'host' as const };
    const inProcess = await dlhub.runServable(req);
    expect(Buffer.isBuffer((inProcess.output as { b: unknown }).b)).toBe(true);
    for (const ep of [sock, web]) expect((await ep.runServable(req)).output).toEqual(inProcess.output);
  });

  it('every door answers the model\'s own time (inferenceMs) inside the call\'s time, and 0 for a memo hit', async () => {
    const call = { name: 'codec-probe', method: 'nap', noCache: true, runtime: 'host' as const };
    const doors = [(r: typeof call & { input?: unknown; inputs?: unknown[] }) => dlhub.runServable(r), (r: typeof call) => sock.runServable(r), (r: typeof call) => web.runServable(r)];
    for (const run of doors) {
      // The model sleeps 30 ms (twice 20 ms for the batch): that is counted, and the figure never exceeds the whole call.
      const one = await run({ ...call, input: 0.03 });
      expect(one.inferenceMs).toBeGreaterThanOrEqual(27);
      expect(one.inferenceMs).toBeLessThanOrEqual(one.elapsedMs);
      const batch = await run({ ...call, inputs: [0.02, 0.02] });
      expect(batch.inferenceMs).toBeGreaterThanOrEqual(36);
      expect(batch.inferenceMs).toBeLessThanOrEqual(batch.elapsedMs);
    }
    const cachedCall = { name: 'codec-probe', method: 'nap', input: 0.001, runtime: 'host' as const };
    await dlhub.runServable(cachedCall);
    for (const run of doors) {
      const hit = await run(cachedCall as never);
      expect(hit.cached).toBe(true);
      expect(hit.inferenceMs).toBe(0);
    }
  });

  it('a model error is a ModelError, with its Python type and traceback, at every door', async () => {
    const req = { name: 'codec-probe', input: -1, noCache: true, runtime: 'host' as const };
    const errors: unknown[] = [];
    await dlhub.runServable(req).catch((e: unknown) => errors.push(e));
    for (const ep of [sock, web]) await ep.runServable(req).catch((e: unknown) => errors.push(e));
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ModelError);
      expect((e as ModelError).pythonType).toBe('ValueError');
      expect((e as ModelError).message).toContain('minus one is not allowed');
      expect((e as ModelError).traceback).toContain('app.py');
    }
  });

  it('serves the REST routes of the table and the OpenAPI document', async () => {
    const list = await raw(`${base}/v1/servables`, { token: guard.token });
    expect(list.status).toBe(200);
    expect((list.body.result as { name: string }[]).map((s) => s.name)).toEqual(['codec-probe']);
    const one = await raw(`${base}/v1/servables/codec-probe`, { token: guard.token });
    expect((one.body.result as { methods: Record<string, unknown> }).methods).toHaveProperty('echo');
    const missing = await raw(`${base}/v1/servables/nope`, { token: guard.token });
    expect(missing.status).toBe(404);
    expect(missing.body.error?.code).toBe('SERVABLE_NOT_FOUND');
    const found = await raw(`${base}/v1/search?query=codec&pageSize=5`, { token: guard.token });
    expect((found.body.result as { total: number }).total).toBe(1);
    const run = await raw(`${base}/v1/servables/codec-probe/run`, { method: 'POST', token: guard.token, body: JSON.stringify({ method: 'echo', inputs: [{ $bytes: 'AAE=' }, 3], noCache: true, runtime: 'host' }) });
    expect(run.status).toBe(200);
    expect((run.body.result as { output: unknown }).output).toEqual([{ $bytes: 'AAE=' }, 3]);
    const doc = await raw(`${base}/openapi.json`);
    expect(doc.status).toBe(200);
    expect((doc.body as unknown as { paths: Record<string, unknown> }).paths).toHaveProperty('/v1/tasks/{id}/result');
  });

  it('refuses calls without the token, from another Host name or from a foreign Origin', async () => {
    const url = `${base}/v1/servables`;
    const none = await raw(url);
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe('UNAUTHORIZED');
    expect((await raw(url, { token: 'wrong-token-123' })).status).toBe(401);
    // DNS rebinding: the page's own name arrives as Host.
    const rebound = await getWithHost(url, 'evil.example:80', guard.token);
    expect(rebound.status).toBe(401);
    expect(rebound.body.error?.message).toContain('evil.example');
    const foreign = await raw(url, { token: guard.token, headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(401);
    expect(foreign.body.error?.message).toContain('Origin');
    expect((await raw(url, { token: guard.token, headers: { origin: base } })).status).toBe(200);
  });

  it('answers bad bodies with a typed 400 naming the field, at both doors', async () => {
    const bodies: [string, RegExp][] = [
      ['null', /null: send a JSON object/],
      ['[1,2]', /an array: send a JSON object/],
      ['{"inputs": 5}', /^inputs must be array/],
      ['{"input": 1, "inputs": [1]}', /not both/],
      ['{"noCache": "yes"}', /^noCache must be boolean/],
      ['{not json', /not JSON/],
      ['{"input": {"$bytes": "%%%"}}', /not base64/],
    ];
    for (const [body, message] of bodies) {
      const r = await raw(`${base}/v1/servables/codec-probe/run`, { method: 'POST', token: guard.token, body });
      expect(r.status, body).toBe(400);
      expect(r.body.error?.message, body).toMatch(message);
      expect(['USAGE', 'INPUT_INVALID'], body).toContain(r.body.error?.code);
    }
    await expect(sock.runServable({ name: 'codec-probe', inputs: 5 as never })).rejects.toBeInstanceOf(UsageError);
    const unknownRoute = await raw(`${base}/v1/nothing`, { token: guard.token });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.error?.code).toBe('NOT_FOUND');
  });

  it('never answers an untyped error to any JSON body, at any POST route (fuzzed)', async () => {
    const routes = ['/v1/servables/codec-probe/run', '/v1/servables/codec-probe/tasks', '/v1/batches', '/v1/batches/results'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async (route, body) => {
        const r = await raw(`${base}${route}`, { method: 'POST', token: guard.token, body: JSON.stringify(body) });
        expect(r.status, JSON.stringify(body)).not.toBe(500);
        expect(r.body.error?.code ?? 'none').not.toBe('INTERNAL');
      }),
      { numRuns: 60 },
    );
  });

  it('a port in use is a typed USAGE error naming the address', async () => {
    const port = Number(new URL(base).port);
    const other = createHttpDoor(dlhub, { guard });
    const err = await listenOnTcp(other, '127.0.0.1', port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain(`127.0.0.1:${port}`);
    expect((err as UsageError).hint).toMatch(/another port/);
  });

  it('a service that dies mid-call is a typed SERVICE_UNAVAILABLE with a hint', async () => {
    const socketPath = join(work.dir, 'dying.sock');
    const dying = createServer((conn) => conn.on('data', () => conn.destroy()));
    await new Promise<void>((r) => dying.listen(socketPath, r));
    try {
      const err = await createClient(socketTransport({ socketPath })).listServables().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceError);
      expect((err as ServiceError).code).toBe('SERVICE_UNAVAILABLE');
      expect((err as ServiceError).hint).toMatch(/dlhub serve/);
    } finally {
      dying.close();
    }
  });
});

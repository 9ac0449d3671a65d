// The SDK: one suite, run in-process and against the HTTP API, with real host-runtime workers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../../main/api/dlhub.js';
import { createHttpDoor, listenOnTcp, type RunningDoor } from '../../../main/api/doors/http-door.js';
import { DLHubClient, Executor } from '../../../main/api/sdk.js';
import { ModelError, NotFoundError, TaskError } from '../../../main/errors.js';
import { OP_NAMES, type OpName } from '../../../main/contract/operations.js';
import { NdArray } from '../../../main/runtime/protocol/values.js';
import { tempDir } from '../../helpers/cli.js';

const APP = `
import time
import numpy as np

def double(x):
    return [v * 2 for v in x]

def fail(x):
    raise KeyError("no such thing: %r" % (x,))

def slow(x):
    time.sleep(x)
    return x

def arr(x):
    return np.array(x, dtype=np.float64)
`;

function method(fn: string, input = 'list'): Record<string, unknown> {
  return { input: input === 'list' ? { type: 'list', item_type: { type: 'number' } } : { type: input }, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn, autobatch: false } };
}

function writeServable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'SDK probe doubling numbers' }], creators: [{ creatorName: 'Test' }] },
    dlhub: { name: 'sdk-probe', domains: ['testing'], files: { other: ['app.py'] }, dependencies: { python: { numpy: '' } } },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: true,
      methods: { run: method('double'), fail: method('fail', 'python object'), slow: method('slow', 'number'), arr: method('arr') },
    },
  }));
  return dir;
}

const work = tempDir('dlhub-sdk-');
let dlhub: Dlhub;
let door: RunningDoor;
let port = 0;

beforeAll(async () => {
  dlhub = new Dlhub({ home: join(work.dir, 'home') });
  await dlhub.buildServable({ dir: writeServable(join(work.dir, 'probe')), runtime: 'host' });
  const guard = { token: 'sdk-test-token', hosts: new Set<string>(), origins: new Set<string>() };
  door = createHttpDoor(dlhub, { guard });
  port = await listenOnTcp(door, '127.0.0.1', 0);
  guard.hosts.add(`127.0.0.1:${port}`);
  // The default HTTP client finds the address and token where `dlhub serve --http` writes them.
  writeFileSync(join(dlhub.paths.run, 'api-url'), `http://127.0.0.1:${port}`);
  writeFileSync(join(dlhub.paths.run, 'api-token'), guard.token, { mode: 0o600 });
});

afterAll(async () => {
  await door?.stop(1000);
  await dlhub?.close();
  work.cleanup();
});

// The suite makes more calls than DLHub's default client limit allows; the limit has its own test below.
const clients: [string, () => DLHubClient][] = [
  ['in-process', () => DLHubClient.inProcess(dlhub, { rateLimit: null })],
  ['HTTP API', () => DLHubClient.http({ home: join(work.dir, 'home'), rateLimit: null })],
];

// Compiles only while the client has a method for every operation of the table (its own or a DLHub verb).
type MissingFromClient = Exclude<OpName, keyof DLHubClient>;
const clientHasEveryOperation: [MissingFromClient] extends [never] ? true : MissingFromClient = true;

describe('DLHubClient covers the operations table', () => {
  it('offers every operation, and the generated client under `ops` by its own name', () => {
    expect(clientHasEveryOperation).toBe(true);
    const client = DLHubClient.inProcess(dlhub, { rateLimit: null });
    for (const op of OP_NAMES) {
      expect(typeof (client as unknown as Record<string, unknown>)[op], op).toBe('function');
      expect(typeof client.ops[op], op).toBe('function');
    }
  });

  it('streams task changes to an SDK caller', async () => {
    const client = DLHubClient.inProcess(dlhub, { rateLimit: null });
    const controller = new AbortController();
    const iterator = client.watchTasks({}, { signal: controller.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    const id = await client.submit('sdk-probe', [1], { runtime: 'host' });
    let item = await first;
    while (!item.done && item.value.id !== id) item = await iterator.next();
    controller.abort();
    expect(item.done ? undefined : item.value.servable).toBe('sdk-probe');
  });
});

describe('DLHubClient rate limit (DLHub: 20 calls in 10 s)', () => {
  it('refuses the call past the limit with RATE_LIMITED naming the setting; a batch counts once', async () => {
    const client = DLHubClient.inProcess(dlhub, { rateLimit: { calls: 3, perSeconds: 60 } });
    const name = 'sdk-probe';
    const desc = await client.describeServable(name);
    expect(desc.name).toBe(name);
    // Describing and listing are free; only calls that run a servable count.
    expect(await client.runBatch(name, [[1], [2]])).toEqual([[2], [4]]);
    await client.run(name, [1, 2]);
    await client.run(name, [1, 2], { noCache: true });
    const err = await client.run(name, [1, 2]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED' });
    expect(String((err as Error).message)).toContain('at most 3 calls in 60 s');
    expect((err as { hint: string }).hint).toContain('DLHUB_RATE_LIMIT');
  });

  it('uses DLHub\'s default of 20 calls in 10 s, and null removes the limit', async () => {
    const limited = DLHubClient.inProcess(dlhub);
    const name = 'sdk-probe';
    const results = await Promise.allSettled(Array.from({ length: 21 }, () => limited.run(name, [1, 2])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as { reason: { code: string } }).reason.code))).toEqual(['RATE_LIMITED']);
    const free = DLHubClient.inProcess(dlhub, { rateLimit: null });
    const many = await Promise.all(Array.from({ length: 25 }, () => free.run(name, [1, 2])));
    expect(many).toHaveLength(25);
  });
});

describe.each(clients)('DLHubClient (%s)', (_door, make) => {
  let client: DLHubClient;
  beforeAll(() => {
    client = make();
  });

  it('refuses a non-finite number (1e999) with INPUT_INVALID instead of sending null', async () => {
    const err = await client.run('sdk-probe', [1, Number('1e999')], { noCache: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INPUT_INVALID' });
    expect(String((err as Error).message)).toMatch(/Infinity/);
  });
  afterAll(async () => client?.close());
  const opts = { runtime: 'host' as const };

  it('runs, runs a batch, and answers ndarrays as NdArray', async () => {
    expect(await client.run('sdk-probe', [1, 2], opts)).toEqual([2, 4]);
    expect(await client.runBatch('sdk-probe', [[1], [5, 6]], opts)).toEqual([[2], [10, 12]]);
    const a = await client.run('sdk-probe', [1.5, 2], { ...opts, method: 'arr', noCache: true });
    expect(a).toBeInstanceOf(NdArray);
    expect((a as NdArray).toJSON()).toEqual([1.5, 2]);
  });

  it('re-raises model errors with their class', async () => {
    const err = await client.run('sdk-probe', 'x', { ...opts, method: 'fail' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).pythonType).toBe('KeyError');
  });

  it('submits tasks, answers their status and result, and re-raises a failed task\'s error', async () => {
    const id = await client.submit('sdk-probe', [3], opts);
    expect(typeof id).toBe('string');
    expect(await client.getResult(id, { waitMs: 30_000 })).toEqual([6]);
    expect((await client.getTask(id)).status).toBe('succeeded');
    expect((await client.listTasks()).map((t) => t.id)).toContain(id);
    const bad = await client.submit('sdk-probe', 'y', { ...opts, method: 'fail' });
    await expect(client.getResult(bad, { waitMs: 30_000 })).rejects.toBeInstanceOf(ModelError);
    await expect(client.getTask('no-such-task')).rejects.toBeInstanceOf(TaskError);
  });

  it('cancels a slow task', async () => {
    const id = await client.submit('sdk-probe', 20, { ...opts, method: 'slow', noCache: true });
    const info = await client.cancel(id);
    expect(info.status).toBe('cancelled');
    const err = await client.getResult(id).catch((e: unknown) => e);
    expect((err as TaskError).code).toBe('CANCELLED');
  });

  it('creates a batch, runs it and gets every result, errors per item', async () => {
    const batch = client.createBatch().add('sdk-probe', [1], opts).add('sdk-probe', [2, 2], opts).add('sdk-probe', 'z', { ...opts, method: 'fail' });
    expect(batch.size).toBe(3);
    const ids = await client.batchRun(batch);
    expect(ids).toHaveLength(3);
    const results = await client.getBatchResult(ids, { waitMs: 30_000 });
    expect(results[ids[0]!]).toMatchObject({ pending: false, status: 'succeeded', result: [2] });
    expect(results[ids[1]!]?.result).toEqual([4, 4]);
    expect(results[ids[2]!]?.exception).toBeInstanceOf(ModelError);
  });

  it('has an Executor whose submit answers a Promise of the output', async () => {
    const ex = new Executor(client, opts);
    const outs = await Promise.all([ex.submit('sdk-probe', [1]), ex.submit('sdk-probe', [7])]);
    expect(outs).toEqual([[2], [14]]);
    await expect(ex.submit('sdk-probe', 'q', { method: 'fail' })).rejects.toBeInstanceOf(ModelError);
  });

  it('describes, lists, searches and reports status', async () => {
    expect((await client.describeServable('sdk-probe')).name).toBe('sdk-probe');
    expect(Object.keys(await client.describeMethods('sdk-probe')).sort()).toEqual(['arr', 'fail', 'run', 'slow']);
    expect((await client.describeMethods('sdk-probe', 'slow')).input).toEqual({ type: 'number' });
    await expect(client.describeServable('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.listServables()).toEqual(['sdk-probe']);
    expect((await client.search('doubling')).hits.map((h) => h.name)).toContain('sdk-probe');
    expect((await client.search(client.query().matchDomains('testing'))).total).toBe(1);
    const status = await client.status();
    expect(status.cache.file).toContain('memo');
    expect(Array.isArray(status.workers)).toBe(true);
  });
});

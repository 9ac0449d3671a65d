// Every operation of the table through every door — in process, the local service's Unix socket and
// the HTTP API — gives the same answer and the same error class; the stream operation serves on every
// door; a request that does not match its operation is the same USAGE error everywhere.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { OP_NAMES, type OpName } from '../../main/contract/operations.js';
import { createClient, type ClientOperations } from '../../main/api/doors/client.js';
import { inProcessTransport } from '../../main/api/doors/in-process.js';
import { socketTransport, serviceAnswers } from '../../main/api/doors/socket-transport.js';
import { httpTransport } from '../../main/api/doors/http-transport.js';
import { createHttpDoor, listenOnSocket, listenOnTcp, type RunningDoor } from '../../main/api/doors/http-door.js';
import { DlhubError, UsageError } from '../../main/errors.js';
import { engineServable } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';

type Door = [name: string, ops: ClientOperations];
type Call = (ops: ClientOperations) => Promise<unknown>;

/** Fields that differ from call to call by nature (times, ids, durations), left out of the comparison. */
const VOLATILE = new Set(['elapsedMs', 'inferenceMs', 'ms', 'seconds', 'createdAt', 'startedAt', 'finishedAt', 'preparedAt', 'id', 'pid', 'dir', 'memoryAvailableBytes', 'freeBytes', 'loadAverage']);

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).filter(([k, v]) => !VOLATILE.has(k) && v !== undefined).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

/** An answer or a thrown error, as a test compares them: the value normalized, or the error's class and code. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { answer: normalize(await call()) };
  } catch (err) {
    if (!(err instanceof DlhubError)) throw err;
    return { error: err.constructor.name, code: err.code };
  }
}

describe('every operation through every door', () => {
  const work = tempDir('dlhub-doors-every-op-');
  const space = join(work.path, 'space');
  let dlhub: Dlhub;
  let socketDoor: RunningDoor;
  let httpDoor: RunningDoor;
  let doors: Door[];
  let doneTask = '';

  beforeAll(async () => {
    mkdirSync(join(space, 'empty'), { recursive: true });
    // The HTTP door is a network door: paths must lie in a workspace the user allowed.
    dlhub = new Dlhub({ home: join(work.path, 'home'), settings: { workspaces: [space] } });
    await dlhub.buildServable({ dir: engineServable(space, 'twice', 'double'), runtime: 'host' });
    socketDoor = createHttpDoor(dlhub);
    const socketPath = join(dlhub.paths.run, 'service.sock');
    await listenOnSocket(socketDoor, socketPath, serviceAnswers);
    const guard = { token: 'every-op-token', hosts: new Set<string>(), origins: new Set<string>() };
    httpDoor = createHttpDoor(dlhub, { guard });
    const port = await listenOnTcp(httpDoor, '127.0.0.1', 0);
    guard.hosts.add(`127.0.0.1:${port}`);
    doors = [
      ['in process', createClient(inProcessTransport(dlhub))],
      ['Unix socket', createClient(socketTransport({ socketPath }))],
      ['HTTP', createClient(httpTransport({ baseUrl: `http://127.0.0.1:${port}`, token: guard.token }))],
    ];
    const task = await dlhub.submitTask({ name: 'twice', input: 21, runtime: 'host' });
    await dlhub.getResult({ id: task.id, waitMs: 30_000 });
    doneTask = task.id;
    writeFileSync(join(space, 'model.py'), 'def predict(x):\n    return x\n');
  }, 120_000);

  afterAll(async () => {
    await socketDoor?.stop(1000);
    await httpDoor?.stop(1000);
    await dlhub?.close();
    work.remove();
  });

  /**
   * Calls of each operation: each is made at every door, one door after another, and must come out the
   * same. An operation without cases here is called with an empty request (its answer, or its USAGE error).
   */
  const CASES: Partial<Record<OpName, Call[]>> = {
    initServable: [
      (o) => o.initServable({ dir: space, type: 'python', module: 'model', function: 'predict', name: 'probe-init', overwrite: true }),
      (o) => o.initServable({ dir: join(space, 'empty') }),
    ],
    buildServable: [(o) => o.buildServable({ dir: join(space, 'twice'), runtime: 'host' }), (o) => o.buildServable({ dir: join(space, 'empty') })],
    runServable: [
      (o) => o.runServable({ name: 'twice', input: 4, runtime: 'host', noCache: true }),
      (o) => o.runServable({ name: 'twice', inputs: [1, -1, 3], runtime: 'host', noCache: true }),
      (o) => o.runServable({ name: 'twice', input: -2, runtime: 'host', noCache: true }),
      (o) => o.runServable({ name: 'nope', input: 1 }),
    ],
    describeServable: [(o) => o.describeServable({ name: 'twice' }), (o) => o.describeServable({ name: 'nope' })],
    listServables: [(o) => o.listServables()],
    listRuntimes: [(o) => o.listRuntimes()],
    // Free memory and disk change between two calls; the rest of the machine's report must be the same at every door.
    doctor: [async (o) => ({ ...(await o.doctor()), memoryAvailableBytes: 'varies', disk: 'varies' })],
    fitServable: [(o) => o.fitServable({ name: 'twice' }), (o) => o.fitServable({ name: 'nope' })],
    removeServable: [(o) => o.removeServable({ name: 'nope' })],
    cacheStats: [(o) => o.cacheStats()],
    cacheClear: [(o) => o.cacheClear({ name: 'no-such-servable' })],
    searchCatalog: [(o) => o.searchCatalog({ query: 'twice' }), (o) => o.searchCatalog({ query: 'a:(', advanced: true })],
    exportCatalog: [(o) => o.exportCatalog({ file: join(space, 'catalog.jsonl') })],
    importCatalog: [(o) => o.importCatalog({ file: join(space, 'catalog.jsonl') })],
    submitTask: [async (o) => ({ ...(await o.submitTask({ name: 'twice', input: 5, runtime: 'host' })), status: 'submitted' }), (o) => o.submitTask({ name: 'nope', input: 1 })],
    getTask: [(o) => o.getTask({ id: doneTask }), (o) => o.getTask({ id: 'no-such-task' })],
    getResult: [(o) => o.getResult({ id: doneTask }), (o) => o.getResult({ id: 'no-such-task' })],
    cancelTask: [(o) => o.cancelTask({ id: doneTask }), (o) => o.cancelTask({ id: 'no-such-task' })],
    listTasks: [(o) => o.listTasks({ status: 'cancelled' })],
    status: [async (o) => ({ ...(await o.status()), workers: 'compared elsewhere' })],
    batchRun: [async (o) => (await o.batchRun({ tasks: [{ name: 'twice', input: 1, runtime: 'host' }] })).taskIds.length],
    getBatchResult: [(o) => o.getBatchResult({ taskIds: [doneTask, 'no-such-task'] })],
    watchTasks: [
      async (o) => {
        // The stream is open before the task is submitted: its changes come as they happen.
        const controller = new AbortController();
        const items = o.watchTasks({}, { signal: controller.signal });
        const iterator = items[Symbol.asyncIterator]();
        const first = iterator.next();
        await new Promise((r) => setTimeout(r, 200));
        const task = await dlhub.submitTask({ name: 'twice', input: 7, runtime: 'host' });
        let item = await first;
        while (!item.done && (item.value.id !== task.id || item.value.status !== 'succeeded')) item = await iterator.next();
        await iterator.return?.();
        controller.abort();
        return item.done ? 'the stream ended' : item.value;
      },
    ],
    uploadFolder: [async (o) => o.uploadFolder({ name: 'probe', files: [{ path: 'a/b.txt', data: new Uint8Array([1, 2, 3]) }] })],
    grpcStatus: [(o) => o.grpcStatus({})],
    startGrpc: [
      // Each door starts the one gRPC door of the service on a free loopback port, sees it listening, and stops it.
      async (o) => {
        const started = await o.startGrpc({ address: '127.0.0.1:0' });
        const seen = await o.grpcStatus({});
        const stopped = await o.stopGrpc({});
        return { started: { ...started, address: started.address?.startsWith('127.0.0.1:'), port: (started.port ?? 0) > 0 }, same: seen.address === started.address, stopped };
      },
      // Beyond loopback in clear text is refused alike at every door.
      (o) => o.startGrpc({ address: '0.0.0.0:0' }),
      (o) => o.startGrpc({ address: 'not an address' }),
    ],
  };

  it('has cases only for operations of the table', () => {
    expect(Object.keys(CASES).filter((op) => !(OP_NAMES as string[]).includes(op))).toEqual([]);
  });

  for (const op of OP_NAMES) {
    it(`${op}: the same answers and error classes in process, over the Unix socket and over HTTP`, async () => {
      const calls = CASES[op] ?? [(o: ClientOperations) => (o[op] as (req: object) => Promise<unknown>)({})];
      for (const [i, call] of calls.entries()) {
        const seen: unknown[] = [];
        for (const [, ops] of doors) seen.push(await outcome(() => call(ops)));
        expect(seen[1], `${op} case ${i}: Unix socket`).toEqual(seen[0]);
        expect(seen[2], `${op} case ${i}: HTTP`).toEqual(seen[0]);
      }
      // A request that is not the operation's is refused alike (a stream's refusal comes with its first item).
      for (const [name, ops] of doors) {
        const call = ops[op] as (req: unknown) => Promise<unknown> | AsyncIterable<unknown>;
        const err = await (async () => {
          const answer = call({ notAField: true });
          if (Symbol.asyncIterator in answer) for await (const _ of answer) break;
          else await answer;
        })().catch((e: unknown) => e);
        expect(err, `${op} at ${name}`).toBeInstanceOf(UsageError);
      }
    }, 60_000);
  }

  it('a path outside the folders the user allowed is refused over HTTP alone (the other doors keep the user\'s reach)', async () => {
    const outside = join(work.path, 'outside.jsonl');
    const seen = await Promise.all(doors.map(([, ops]) => outcome(() => ops.exportCatalog({ file: outside }))));
    expect(seen.map((s) => ('error' in (s as object) ? (s as { code: string }).code : 'written'))).toEqual(['written', 'written', 'PATH_UNSAFE']);
  });

  it('a network caller may start the gRPC door on loopback only, even with a certificate', async () => {
    writeFileSync(join(space, 'door.crt'), 'not checked before the address is');
    writeFileSync(join(space, 'door.key'), 'not checked before the address is');
    const req = { address: '0.0.0.0:0', cert: join(space, 'door.crt'), key: join(space, 'door.key') };
    const http = doors[2]?.[1] as ClientOperations;
    expect(await outcome(() => http.startGrpc(req))).toEqual({ error: 'ServiceError', code: 'FORBIDDEN' });
    expect((await dlhub.grpcStatus()).listening).toBe(false);
  });

  it('the stream of task changes serves every door at once, each reader its own items', async () => {
    const controllers = doors.map(() => new AbortController());
    const iterators = doors.map(([, ops], i) => ops.watchTasks({}, { signal: controllers[i]?.signal })[Symbol.asyncIterator]());
    const firsts = iterators.map((it) => it.next());
    await new Promise((r) => setTimeout(r, 200));
    const task = await dlhub.submitTask({ name: 'twice', input: 8, runtime: 'host' });
    const got = await Promise.all(
      iterators.map(async (it, i) => {
        let item = await firsts[i];
        while (!item?.done && item?.value.id !== task.id) item = await it.next();
        await it.return?.();
        return item?.done ? undefined : item?.value;
      }),
    );
    for (const c of controllers) c.abort();
    for (const item of got) expect(item).toMatchObject({ id: task.id, servable: 'twice' });
  });
});

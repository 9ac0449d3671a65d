// The TypeScript SDK: the generated client of the operations table (every operation, in process,
// over the local service's Unix socket or over the HTTP API alike) plus the DLHub and Globus Compute
// SDK verbs in camelCase.
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError, errorFromJSON, isWaitTimeout, type DlhubError } from '../errors.js';
import type { OpName, OpRequest, OpResponse } from '../contract/operations.js';
import type { RunOutcome, ServableDescription } from '../contract/schemas.js';
import type { SearchResult } from '../catalog/search.js';
import { QueryHelper } from '../catalog/query-helper.js';
import type { MethodMetadata } from '../servable/metadata.js';
import { createClient, type ClientOperations, type Transport } from './doors/client.js';
import { inProcessTransport } from './doors/in-process.js';
import { httpTransport } from './doors/http-transport.js';
import { socketTransport } from './doors/socket-transport.js';
import type { CallContext, Operations } from './operations.js';
import { homePaths } from '../storage/home.js';
import { RateLimiter } from '../engine/limits.js';
import { parseRateLimit } from '../engine/settings.js';

export type { Transport } from './doors/client.js';

type TaskInfo = OpResponse<'getTask'>;

/** Options of a client as a whole. */
export interface ClientOptions {
  /** Calls that run a servable, at most `calls` in `perSeconds`; null for no limit; default from DLHUB_RATE_LIMIT (20/10). */
  rateLimit?: { calls: number; perSeconds: number } | null | undefined;
}

/** Options of one call, as DLHub's `run` takes them. */
import type { CallOptions } from '../contract/schemas.js';
export type { CallOptions };

/** One item of getBatchResult, shaped as Globus Compute's: `pending`, then `result` or `exception`. */
export interface BatchResultItem {
  pending: boolean;
  status: TaskInfo['status'];
  result?: unknown;
  exception?: DlhubError;
}

/** A list of calls built on the client side and submitted with `batchRun` (Globus Compute's create_batch). */
export class Batch {
  readonly tasks: OpRequest<'batchRun'>['tasks'] = [];

  /** Add one call of `name` on `input`. */
  add(name: string, input: unknown, opts: CallOptions = {}): this {
    this.tasks.push({ name, input, ...defined(opts) });
    return this;
  }

  /** Number of calls in the batch. */
  get size(): number {
    return this.tasks.length;
  }
}

function defined(opts: CallOptions): Omit<CallOptions, never> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}


/** Read a file under $DLHUB_HOME/run that `dlhub serve --http` wrote, or undefined. */
function runFile(home: string | undefined, name: string): string | undefined {
  try {
    return readFileSync(join(homePaths(home).run, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The HTTP API's address and token: given, else what `dlhub serve --http` wrote under $DLHUB_HOME/run. */
function httpEndpoint(opts: { baseUrl?: string; token?: string; home?: string }): { baseUrl: string; token: string } {
  const baseUrl = opts.baseUrl ?? runFile(opts.home, 'api-url');
  const token = opts.token ?? runFile(opts.home, 'api-token');
  if (!baseUrl || !token) {
    throw new ServiceError('SERVICE_UNAVAILABLE', 'No HTTP API address or token was given, and none was found under $DLHUB_HOME/run.', {
      hint: 'Start the API with `dlhub serve --http 127.0.0.1:8765`, or pass { baseUrl, token }.',
    });
  }
  return { baseUrl, token };
}

/** DLHub-named verbs whose signature differs from the operation of the same name (the operation stays reachable as `client.ops.X`). */
type Shortcuts = 'describeServable' | 'listServables' | 'getTask' | 'getResult' | 'batchRun' | 'getBatchResult' | 'status' | 'cacheStats';

/** Operations that run a servable: each call takes one from DLHub's client-side rate limit. */
const LIMITED: readonly OpName[] = ['runServable', 'submitTask', 'batchRun'];

// Every operation of the table is a method of the client (generated, see the constructor); a new row
// of the table is one here without a line of this file.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface DLHubClient extends Omit<ClientOperations, Shortcuts> {}

/**
 * `DLHubClient`: the DLHub SDK (`run`, `describeServable`, `search`, …) and the Globus Compute
 * task verbs (`submit`, `getResult`, `createBatch`, `batchRun`, `getBatchResult`) in one client.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class DLHubClient {
  /** Every operation of the table under its own name and signature (the generated client). */
  readonly ops: ClientOperations;
  private readonly limiter: RateLimiter;

  /**
   * `rateLimit`: DLHub's client-side limit on calls that run a servable (default DLHUB_RATE_LIMIT, else
   * 20 calls in 10 s); `null` removes it. Batches count once, which is why DLHub suggests them.
   */
  constructor(private readonly transport: Transport, opts: ClientOptions = {}) {
    this.limiter = new RateLimiter(opts.rateLimit === undefined ? parseRateLimit(process.env['DLHUB_RATE_LIMIT']) : (opts.rateLimit ?? undefined));
    const raw = createClient(transport) as unknown as Record<OpName, (req: unknown, ctx?: CallContext) => unknown>;
    const ops: Record<string, unknown> = { ...raw };
    for (const op of LIMITED) {
      ops[op] = async (req: unknown, ctx?: CallContext) => {
        this.limiter.take();
        return raw[op](req, ctx);
      };
    }
    this.ops = ops as unknown as ClientOperations;
    // The operations without a DLHub verb of the same name are methods of the client as they are.
    const shortcuts = new Set<string>(['describeServable', 'listServables', 'getTask', 'getResult', 'batchRun', 'getBatchResult', 'status', 'cacheStats'] satisfies Shortcuts[]);
    for (const [op, fn] of Object.entries(ops)) if (!shortcuts.has(op)) Object.defineProperty(this, op, { value: fn, enumerable: false });
  }

  /** A client over an in-process API (a `Dlhub` instance). */
  static inProcess(api: Operations, opts: ClientOptions = {}): DLHubClient {
    return new DLHubClient(inProcessTransport(api), opts);
  }

  /** A client of the HTTP API (`dlhub serve --http`); address and token default to what it wrote under $DLHUB_HOME/run. */
  static http(opts: { baseUrl?: string; token?: string; home?: string; timeoutMs?: number } & ClientOptions = {}): DLHubClient {
    return new DLHubClient(httpTransport({ ...httpEndpoint(opts), timeoutMs: opts.timeoutMs }), opts);
  }

  /** A client of the local service (`dlhub serve`) on its Unix socket under $DLHUB_HOME/run. */
  static local(opts: { home?: string; timeoutMs?: number } & ClientOptions = {}): DLHubClient {
    const socketPath = join(homePaths(opts.home).run, 'service.sock');
    return new DLHubClient(socketTransport({ socketPath, timeoutMs: opts.timeoutMs, agent: new Agent({ keepAlive: true }) }), opts);
  }

  /** Run a servable on one input and answer its output (DLHub's `run`); errors are re-raised typed. */
  async run(name: string, input: unknown, opts: CallOptions = {}): Promise<unknown> {
    return (await this.runDetailed(name, input, opts)).output;
  }

  /** Run and answer the whole outcome: output, memo hits, runtime, time. */
  async runDetailed(name: string, input: unknown, opts: CallOptions = {}): Promise<RunOutcome> {
    return this.ops.runServable({ name, input, ...defined(opts) });
  }

  /** Run many inputs as one batch: one output per input, in order. */
  async runBatch(name: string, inputs: unknown[], opts: CallOptions = {}): Promise<unknown[]> {
    return (await this.ops.runServable({ name, inputs, ...defined(opts) })).output as unknown[];
  }

  /** Submit one call as an asynchronous task; answers its id at once. */
  async submit(name: string, input: unknown, opts: CallOptions = {}): Promise<string> {
    return (await this.ops.submitTask({ name, input, ...defined(opts) })).id;
  }

  /** A task's state (DLHub's get_task_status, Globus Compute's get_task). */
  async getTask(id: string): Promise<TaskInfo> {
    return this.ops.getTask({ id });
  }

  /** Same as getTask, under DLHub's name. */
  async getTaskStatus(id: string): Promise<TaskInfo> {
    return this.getTask(id);
  }

  /** A finished task's output, or its error re-raised; with `waitMs` waits that long for it first. */
  async getResult(id: string, opts: { waitMs?: number } = {}): Promise<unknown> {
    return (await this.ops.getResult({ id, ...(opts.waitMs === undefined ? {} : { waitMs: opts.waitMs }) })).output;
  }

  /** Wait for a task however long it takes, and answer its output (or re-raise its error). */
  async waitResult(id: string): Promise<unknown> {
    for (;;) {
      try {
        return await this.getResult(id, { waitMs: 30_000 });
      } catch (err) {
        if (!isWaitTimeout(err)) throw err;
      }
    }
  }

  /** Cancel a task that has not finished. */
  async cancel(id: string): Promise<TaskInfo> {
    return this.ops.cancelTask({ id });
  }

  /** Workers, queue, tasks, limits and memo cache. */
  async status(): Promise<OpResponse<'status'>> {
    return this.ops.status({});
  }

  /** An empty batch to fill with `add` and submit with `batchRun`. */
  createBatch(): Batch {
    return new Batch();
  }

  /** Submit every call of a batch; one task id per call, in order. */
  async batchRun(batch: Batch): Promise<string[]> {
    return (await this.ops.batchRun({ tasks: batch.tasks })).taskIds;
  }

  /** The state of many tasks: `pending`, else `result` or the typed `exception`. */
  async getBatchResult(taskIds: string[], opts: { waitMs?: number } = {}): Promise<Record<string, BatchResultItem>> {
    const { results } = await this.ops.getBatchResult({ taskIds, ...(opts.waitMs === undefined ? {} : { waitMs: opts.waitMs }) });
    const out: Record<string, BatchResultItem> = {};
    for (const [id, item] of Object.entries(results)) {
      out[id] = {
        pending: item.pending,
        status: item.status,
        ...(item.result ? { result: item.result.output } : {}),
        ...(item.error ? { exception: errorFromJSON(item.error) } : {}),
      };
    }
    return out;
  }

  /** Full metadata of a servable (DLHub's describe_servable). */
  async describeServable(name: string): Promise<ServableDescription> {
    return this.ops.describeServable({ name });
  }

  /** A servable's methods, or one of them (DLHub's describe_methods). */
  async describeMethods(name: string): Promise<Record<string, MethodMetadata>>;
  async describeMethods(name: string, method: string): Promise<MethodMetadata>;
  async describeMethods(name: string, method?: string): Promise<Record<string, MethodMetadata> | MethodMetadata> {
    const { methods } = await this.describeServable(name);
    if (method === undefined) return methods;
    const m = methods[method];
    if (!m) throw errorFromJSON({ code: 'METHOD_NOT_FOUND', message: `Servable "${name}" has no method "${method}".`, hint: `Its methods are: ${Object.keys(methods).join(', ')}.` });
    return m;
  }

  /** Names of the servables on this machine (DLHub's list_servables). */
  async listServables(): Promise<string[]> {
    return (await this.ops.listServables({})).map((s) => s.name);
  }

  /** Search the catalog: free text, DLHub field syntax with `advanced`, or a query built with `query()`. */
  async search(query: string | QueryHelper, opts: { advanced?: boolean; allVersions?: boolean; page?: number; pageSize?: number } = {}): Promise<SearchResult> {
    const advanced = typeof query === 'string' ? opts.advanced : true;
    return this.ops.searchCatalog({ query: query.toString(), ...defined({ ...opts, advanced } as CallOptions) });
  }

  /** DLHub's query helper (`matchTerm`, `matchField`, `matchDomains`, …); pass it to `search`. */
  query(): QueryHelper {
    return new QueryHelper();
  }

  /** Memo cache figures. */
  async cacheStats(): Promise<OpResponse<'cacheStats'>> {
    return this.ops.cacheStats({});
  }

  /** Drop cached results (all, or one servable's). */
  async clearCache(name?: string): Promise<number> {
    return (await this.ops.cacheClear(name === undefined ? {} : { name })).removed;
  }

  /** Release the connections (socket, HTTP): the in-process API is the caller's to close. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Globus Compute's Executor: `submit` answers a Promise of the output (the task's error rejects it). */
export class Executor {
  constructor(
    private readonly client: DLHubClient,
    private readonly defaults: CallOptions = {},
  ) {}

  /** Submit one call; the Promise settles when the task finishes. */
  async submit(name: string, input: unknown, opts: CallOptions = {}): Promise<unknown> {
    const id = await this.client.submit(name, input, { ...this.defaults, ...opts });
    return this.client.waitResult(id);
  }
}

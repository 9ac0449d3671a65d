import type { MemoCache } from '../memo/memo-cache.js';
import { memoKey } from '../memo/key.js';
import { InputError, NotFoundError } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { getLocalCached, type LocalServable } from '../servable/registry.js';
import { checkInput, checkInputSize } from '../servable/input-check.js';
import type { ArgumentType, MethodMetadata } from '../servable/metadata.js';
import { decodeStoredResult, encodeValue } from '../runtime/protocol/values.js';
import { selectRuntime, type RuntimeSet } from '../runtime/select.js';
import type { Runtime, RuntimeName } from '../runtime/runtime.js';
import { WorkerPool } from './pool.js';
import type { Settings } from './settings.js';
import { findPython } from '../runtime/python.js';
import { requiredModules } from '../servable/requirements.js';

/** One call of a servable, as every door (CLI, SDK, HTTP, gRPC) asks for it. */
export interface RunRequest {
  name: string;
  method?: string | undefined;
  /** One input; give `inputs` instead for a batch. */
  input?: unknown;
  inputs?: unknown[] | undefined;
  noCache?: boolean | undefined;
  runtime?: RuntimeName | undefined;
  parameters?: Record<string, unknown> | undefined;
}

/** What came back, and where it came from. */
export interface RunOutcome {
  servable: string;
  method: string;
  runtime: RuntimeName;
  /** The output, or one output per input for a batch. */
  output: unknown;
  /** Whether the memo cache answered (per input for a batch). */
  cached: boolean | boolean[];
  elapsedMs: number;
}

interface Prepared {
  key: Buffer | undefined;
  encoded: { json: unknown; buffers: Buffer[] };
}

/** Runs servables: memo lookup, then a warm worker of the chosen runtime. */
export class Engine {
  readonly pool: WorkerPool;

  constructor(
    private readonly paths: HomePaths,
    private readonly settings: Settings,
    private readonly memo: MemoCache,
    private readonly runtimes: RuntimeSet,
  ) {
    this.pool = new WorkerPool(settings.idleMs);
  }

  /** Run one input or a batch; repeated inputs of deterministic servables come from the memo cache. */
  async run(req: RunRequest): Promise<RunOutcome> {
    const started = performance.now();
    const servable = getLocalCached(this.paths, req.name);
    const [methodName, method] = resolveMethod(servable, req.method);
    const batch = req.inputs !== undefined;
    const inputs = batch ? (req.inputs ?? []) : [req.input];
    if (batch && inputs.length === 0) {
      throw new InputError('INPUT_INVALID', 'The batch is empty.', { hint: 'Give at least one input in the batch.' });
    }
    const useMemo = !req.noCache && servable.metadata.servable.deterministic !== false && req.parameters === undefined;
    const prepared: Prepared[] = inputs.map((input, i) => this.prepare(input, method.input, batch ? `inputs[${i}]` : 'input'));
    const outputs: unknown[] = new Array<unknown>(inputs.length);
    const cached: boolean[] = new Array<boolean>(inputs.length).fill(false);
    let misses = inputs.map((_, i) => i);

    // A cached answer belongs to an image (or host build), not to a live engine: look it up before
    // probing Docker, so a memo hit never pays for a ping or a worker.
    let runtimeName: RuntimeName = req.runtime === 'host' || !servable.image ? 'host' : 'docker';
    if (useMemo) misses = await this.lookup(servable, runtimeName, methodName, prepared, misses, outputs, cached);
    let runtime: Runtime | undefined;
    if (misses.length > 0) {
      runtime = await selectRuntime(this.runtimes, servable, req.runtime);
      const guessed = runtimeName;
      runtimeName = runtime.name;
      if (useMemo && runtimeName !== guessed) {
        misses = await this.lookup(servable, runtimeName, methodName, prepared, misses, outputs, cached);
      }
    }

    if (runtime && misses.length > 0) {
      await this.callWorker(servable, runtime, methodName, misses, inputs, prepared, outputs, batch, req.parameters);
    }
    return {
      servable: servable.name,
      method: methodName,
      runtime: runtimeName,
      output: batch ? outputs : outputs[0],
      cached: batch ? cached : cached[0] ?? false,
      elapsedMs: performance.now() - started,
    };
  }

  private async callWorker(
    servable: LocalServable,
    runtime: Runtime,
    methodName: string,
    misses: number[],
    inputs: unknown[],
    prepared: Prepared[],
    outputs: unknown[],
    batch: boolean,
    parameters: Record<string, unknown> | undefined,
  ): Promise<void> {
    const key = `${runtime.name}:${servable.name}:${servable.contentKey}`;
    const python = runtime.name === 'host' ? (await findPython(requiredModules(servable.metadata))).path : undefined;
    const { worker, release } = await this.pool.acquire(key, runtime, {
      python,
      name: servable.name,
      servableDir: servable.servableDir,
      runnerDir: servable.runnerDir,
      image: servable.image?.tag,
      network: servable.metadata.dlhub.network === true,
      memoryBytes: this.settings.workerMemoryBytes,
      pidsLimit: this.settings.workerPidsLimit,
    });
    try {
      const opts = parameters ? { parameters } : undefined;
      if (!batch) {
        const result = await worker.connection.run(methodName, inputs[0], opts);
        outputs[0] = result.output;
        this.remember(prepared[0]?.key, servable.name, methodName, result.raw);
        return;
      }
      const result = await worker.connection.runBatch(methodName, misses.map((i) => inputs[i]), opts);
      misses.forEach((i, j) => {
        outputs[i] = result.outputs[j];
        this.remember(prepared[i]?.key, servable.name, methodName, result.raws[j]);
      });
    } finally {
      release();
    }
  }

  /** Fill in memo hits among `indices` under the digest of `runtimeName`; returns the misses. */
  private async lookup(
    servable: LocalServable,
    runtimeName: RuntimeName,
    method: string,
    prepared: Prepared[],
    indices: number[],
    outputs: unknown[],
    cached: boolean[],
  ): Promise<number[]> {
    const digest = await this.digestFor(servable, runtimeName);
    const misses: number[] = [];
    for (const i of indices) {
      const p = prepared[i];
      if (!p) continue;
      p.key = memoKey({ digest, method, input: p.encoded });
      const hit = this.memo.get(p.key);
      if (hit) {
        outputs[i] = decodeStoredResult(hit);
        cached[i] = true;
      } else {
        misses.push(i);
      }
    }
    return misses;
  }

  private remember(key: Buffer | undefined, servable: string, method: string, value: Buffer | undefined): void {
    if (key && value) this.memo.put(key, { servable, method, value });
  }

  private prepare(input: unknown, type: ArgumentType | undefined, path: string): Prepared {
    if (type) checkInput(input, type, path);
    const encoded = encodeValue(input);
    const size = Buffer.byteLength(JSON.stringify(encoded.json) ?? '') + encoded.buffers.reduce((n: number, b: Buffer) => n + b.length, 0);
    checkInputSize(size, this.settings.maxInputBytes);
    return { encoded, key: undefined };
  }

  /** The memo key's digest: the image for Docker, the prepared files plus the interpreter for the host. */
  private async digestFor(servable: LocalServable, runtime: RuntimeName): Promise<string> {
    if (runtime === 'docker' && servable.image) return servable.image.imageId;
    const python = await findPython(requiredModules(servable.metadata));
    return `host:${servable.contentKey}:${python.path}:${python.version}`;
  }

  /** Stop every warm worker. */
  async close(): Promise<void> {
    await this.pool.stopAll();
  }
}

/** The method to call: the one named, else `run` (DLHub's default), else the first one declared. */
export function resolveMethod(servable: LocalServable, requested: string | undefined): [string, MethodMetadata] {
  const methods = servable.metadata.servable.methods ?? {};
  const names = Object.keys(methods);
  const name = requested ?? (names.includes('run') ? 'run' : names[0]);
  const method = name === undefined ? undefined : methods[name];
  if (name === undefined || method === undefined) {
    throw new NotFoundError('METHOD_NOT_FOUND', `Servable "${servable.name}" has no method "${requested ?? ''}".`, {
      hint: names.length > 0 ? `Its methods are: ${names.join(', ')}. Choose one with --method.` : 'Its dlhub.json declares no methods under servable.methods.',
    });
  }
  return [name, method];
}

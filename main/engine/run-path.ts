// The run path: from a request to an answer. Memo lookup first, then a warm worker of the chosen
// runtime through the pool; a batch goes to the worker in parts, so each part's answers are written
// to the memo (and handed to a task's store) as soon as the worker gives them.
import type { MemoCache, MemoPut } from '../memo/memo-cache.js';
import { memoKey } from '../memo/key.js';
import { DlhubError, RuntimeUnavailableError, TaskError, errorMessage, type ErrorJSON } from '../errors.js';
import type { HomePaths } from '../storage/home.js';
import { getLocalCached, type LocalServable } from '../servable/registry.js';
import { checkInput, checkInputSize } from '../servable/input-check.js';
import type { ArgumentType } from '../servable/metadata.js';
import { decodeStoredResult, encodeValue } from '../runtime/protocol/values.js';
import type { RuntimeRegistry, RuntimeRecord } from '../runtime/registry.js';
import type { ItemResult, WorkerPool } from './pool.js';
import { isPipeline, runPipeline } from './pipeline.js';
import type { Settings } from './settings.js';
import { timeoutError } from './limits.js';
import { callInputs, resolveMethod } from './request.js';
import type { RunOutcome, RunRequest } from '../contract/index.js';
import type { Exec } from './types.js';
import type { ClusterInfo } from '../contract/clusters.js';
import { runOnCluster } from '../cluster/batch.js';
import { clusterNotFound } from '../cluster/store.js';
import { declaredResources } from '../runtime/hardware.js';

// What a checked input keeps until it is answered: its size and, once looked up, its memo key. Not its
// encoding: a 100,000-row batch would hold every row twice; the lookup encodes each again as it goes.
interface Prepared {
  key: Buffer | undefined;
  bytes: number;
}

/** A memo key is a sha256. */
const KEY_BYTES = 32;
/** A batch goes to the worker in parts of at most this many items ... */
const PART_ITEMS = 1024;
/** ... and at most about this many bytes of encoded input, so neither side holds a huge batch twice. */
const PART_BYTES = 8 * 1024 * 1024;

/** The error for a call whose caller left (its signal aborted) before it was answered. */
export function cancelledError(): TaskError {
  return new TaskError('CANCELLED', 'The call was cancelled.', { hint: 'Run it again if you still need the answer.' });
}

/** Runs one request: memo, runtime choice, worker calls in parts, and the outcome. */
export class RunPath {
  constructor(
    private readonly paths: HomePaths,
    private readonly settings: Settings,
    private readonly memo: MemoCache,
    private readonly runtimes: RuntimeRegistry,
    private readonly pool: WorkerPool,
    private readonly clusters?: (name: string) => ClusterInfo,
  ) {}

  /** Refuse a request now that would be refused when it runs: unknown servable or method, bad or oversized inputs. */
  check(req: RunRequest): { servable: LocalServable; method: string; batch: boolean } {
    const servable = getLocalCached(this.paths, req.name);
    const [method, meta] = resolveMethod(servable, req.method);
    const { batch, inputs } = callInputs(req, this.settings.maxBatchItems);
    inputs.forEach((input, i) => this.prepare(input, meta.input, batch ? `inputs[${i}]` : 'input'));
    return { servable, method, batch };
  }

  /** Run one input or a batch; repeated inputs of deterministic servables come from the memo cache. */
  async execute(req: RunRequest, exec: Exec): Promise<RunOutcome> {
    const started = performance.now();
    if (exec.signal?.aborted) throw cancelledError();
    const servable = getLocalCached(this.paths, req.name);
    if (isPipeline(servable.metadata)) {
      // Each step is an ordinary run. A step's parts are not the pipeline's answer, so a pipeline task keeps only its final one.
      return runPipeline((r, timeoutMs) => this.execute(r, { ...exec, timeoutMs, onPart: undefined }), servable, req, exec);
    }
    const [methodName, method] = resolveMethod(servable, req.method);
    const { batch, inputs } = callInputs(req, this.settings.maxBatchItems);
    const useMemo = !req.noCache && servable.metadata.servable.deterministic !== false && req.parameters === undefined;
    const prepared: (Prepared | undefined)[] = inputs.map((input, i) => this.prepare(input, method.input, batch ? `inputs[${i}]` : 'input'));
    const outputs: unknown[] = new Array<unknown>(inputs.length).fill(null);
    const cached: boolean[] = new Array<boolean>(inputs.length).fill(false);
    const errors: (ErrorJSON | null)[] = new Array<ErrorJSON | null>(inputs.length).fill(null);
    let misses = inputs.map((_, i) => i);
    let inferenceMs: number | undefined = 0;
    const warnings: string[] = [];

    // A cached answer belongs to an image (or host build), not to a live engine: look it up before
    // probing any runtime, so a memo hit never pays for a ping or a worker.
    // A call sent to a cluster runs on the runtime its pilots use there: that runtime's digest keys the memo.
    const cluster = req.on === undefined ? undefined : this.cluster(req.on);
    let record = this.runtimes.guess(servable, cluster?.runtime ?? req.runtime);
    if (useMemo) misses = await this.lookup(servable, record, methodName, inputs, prepared, misses, outputs, cached);
    if (misses.length > 0 && cluster) {
      const refusal = record.refuses(servable);
      if (refusal) throw new RuntimeUnavailableError(refusal.message, refusal.hint);
    } else if (misses.length > 0) {
      const chosen = await this.runtimes.select(servable, req.runtime);
      if (useMemo && chosen !== record) misses = await this.lookup(servable, chosen, methodName, inputs, prepared, misses, outputs, cached);
      record = chosen;
    }

    // How far the call has got, for a task's progress: memo hits count as answered at once.
    let answered = inputs.length - misses.length;
    let chunks: { done: number; total: number; jobs: number } | undefined;
    const progress = (): void => exec.onProgress?.({ done: answered, total: inputs.length, ...(chunks ? { chunks } : {}) });
    progress();
    const absorb = (part: number[], items: ItemResult[]): void => {
      // A part's answers go to the memo in one transaction, not one per row.
      const puts: MemoPut[] = [];
      part.forEach((i, j) => {
        const item = items[j];
        if (!item) return;
        if (item.ok) {
          outputs[i] = item.output;
          inferenceMs = inferenceMs === undefined || item.inferenceMs === undefined ? undefined : inferenceMs + item.inferenceMs;
          const key = prepared[i]?.key;
          if (key) puts.push({ key, entry: { servable: servable.name, method: methodName, value: item.raw } });
        } else {
          if (!batch) throw item.error;
          errors[i] = item.error.toJSON() as unknown as ErrorJSON;
        }
      });
      if (puts.length > 0 && warnings.length === 0) this.remember(puts, warnings);
      // The stored frames are in the memo now; the inputs' encodings are no longer needed either.
      items.length = 0;
      for (const i of part) prepared[i] = undefined;
      exec.onPart?.({ indices: part, outputs: part.map((i) => outputs[i]), errors: part.map((i) => errors[i] ?? null), runtime: record.name, elapsedMs: performance.now() - started });
      answered += part.length;
      progress();
    };
    if (cluster && misses.length > 0) {
      // Memo hits were answered above and are never sent; the misses go to the cluster's pilot jobs.
      const spec = await record.workerSpec(servable, { memoryBytes: this.settings.workerMemoryBytes, pidsLimit: this.settings.workerPidsLimit });
      const sent = misses;
      const gpus = declaredResources(servable.metadata).gpu === true ? Math.max(1, cluster.gpus ?? 1) : 0;
      await runOnCluster({
        cluster, spec, method: methodName, inputs: sent.map((i) => inputs[i]), parameters: req.parameters, gpus, signal: exec.signal,
        onItems: (positions, items) => absorb(positions.map((p) => sent[p] as number), items),
        onChunks: (c) => {
          const submitted = c.jobs !== chunks?.jobs;
          chunks = c;
          if (submitted) progress();
        },
      });
    } else {
      for (const part of batch ? partsOf(misses, prepared) : [misses]) {
        if (part.length === 0) continue;
        if (exec.signal?.aborted) throw cancelledError();
        absorb(part, await this.callWorker(servable, record, methodName, part.map((i) => inputs[i]), !batch, req.parameters, exec));
      }
    }
    const outcome: RunOutcome = {
      servable: servable.name,
      method: methodName,
      runtime: record.name,
      output: batch ? outputs : outputs[0],
      cached: batch ? cached : cached[0] ?? false,
      elapsedMs: performance.now() - started,
    };
    if (inferenceMs !== undefined) outcome.inferenceMs = inferenceMs;
    if (batch && errors.some((e) => e !== null)) outcome.errors = errors;
    if (warnings.length > 0) outcome.warnings = warnings;
    return outcome;
  }

  private async callWorker(
    servable: LocalServable,
    record: RuntimeRecord,
    method: string,
    inputs: unknown[],
    single: boolean,
    parameters: Record<string, unknown> | undefined,
    exec: Exec,
  ): Promise<ItemResult[]> {
    const digest = await record.digest(servable);
    const key = `${record.name}:${servable.name}:${digest}`;
    const spec = await record.workerSpec(servable, { memoryBytes: this.settings.workerMemoryBytes, pidsLimit: this.settings.workerPidsLimit });
    const timeoutMs = exec.timeoutMs;
    return this.pool.call(key, { servable: servable.name, runtime: record.runtime, spec }, {
      method,
      inputs,
      single,
      parameters,
      timeoutMs,
      onTimeout: () => timeoutError(servable.name, timeoutMs ?? 0, exec.fromSetting),
      signal: exec.signal,
    });
  }

  /** The cluster a call names; CLUSTER_NOT_FOUND when it was not added. */
  private cluster(name: string): ClusterInfo {
    if (!this.clusters) throw clusterNotFound(name, []);
    return this.clusters(name);
  }

  /** Fill in memo hits among `indices` under the digest of `record`; returns the misses. */
  private async lookup(
    servable: LocalServable,
    record: RuntimeRecord,
    method: string,
    inputs: readonly unknown[],
    prepared: (Prepared | undefined)[],
    indices: number[],
    outputs: unknown[],
    cached: boolean[],
  ): Promise<number[]> {
    const digest = await record.digest(servable);
    const misses: number[] = [];
    // Every key is copied into one block of this lookup's own: a key left in Node's shared buffer pool keeps
    // its whole 8 KiB slab alive, with the encodings and hash input written there beside it (about 370 bytes
    // a key, 37 MB for 100,000 rows); here 100,000 keys hold 3.2 MB.
    const block = Buffer.allocUnsafeSlow(KEY_BYTES * indices.length);
    let used = 0;
    for (const i of indices) {
      const p = prepared[i];
      if (!p) continue;
      const hashed = memoKey({ digest, method, input: encodeValue(inputs[i]) });
      if (hashed.length === KEY_BYTES) {
        p.key = block.subarray(used, used + KEY_BYTES);
        hashed.copy(p.key);
        used += KEY_BYTES;
      } else {
        p.key = Buffer.from(hashed);
      }
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

  /**
   * Keep a part's answers in the memo. A write that fails (a full disk, a read-only file) must not cost the
   * caller the answer the model gave: the outcome says it was not cached, and this call stops trying.
   */
  private remember(puts: readonly MemoPut[], warnings: string[]): void {
    try {
      this.memo.putMany(puts);
    } catch (err) {
      if (!(err instanceof DlhubError)) throw err;
      warnings.push(`The answer was not saved in the memo cache (${errorMessage(err)}); the next call with this input runs the model again.`);
    }
  }

  private prepare(input: unknown, type: ArgumentType | undefined, path: string): Prepared {
    if (type) checkInput(input, type, path);
    const encoded = encodeValue(input);
    const bytes = Buffer.byteLength(JSON.stringify(encoded.json) ?? '') + encoded.buffers.reduce((n: number, b: Buffer) => n + b.length, 0);
    checkInputSize(bytes, this.settings.maxInputBytes);
    return { key: undefined, bytes };
  }
}

/** Split a batch's misses into parts of at most PART_ITEMS items and about PART_BYTES of input. */
function partsOf(indices: number[], prepared: (Prepared | undefined)[]): number[][] {
  const parts: number[][] = [];
  let part: number[] = [];
  let bytes = 0;
  for (const i of indices) {
    const size = prepared[i]?.bytes ?? 0;
    if (part.length > 0 && (part.length >= PART_ITEMS || bytes + size > PART_BYTES)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(i);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

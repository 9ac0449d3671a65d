/**
 * Pipeline servables: an ordered list of steps (servable, method, how one step's output becomes the
 * next step's input) recorded in dlhub.json and run inside the engine, so the caller makes one call
 * and every step is an ordinary engine run with its own memo lookup.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InputError, LimitError, MetadataError, ModelError, NotFoundError, errorFromJSON, toDlhubError,
  type DlhubError, type ErrorJSON, type MetadataProblem,
} from '../errors.js';
import { checkInput } from '../servable/input-check.js';
import type { MethodMetadata, PipelineStep, ServableMetadata, ValueMapping } from '../servable/metadata.js';
import { getLocal, getLocalCached, listLocal, servableRoot, writePrepared, type LocalServable } from '../servable/registry.js';
import type { HomePaths } from '../storage/home.js';
import { NdArray } from '../runtime/protocol/values.js';
import { timeoutError } from './limits.js';
import { callInputs, chooseMethod } from './request.js';
import type { RunOutcome, RunRequest } from '../contract/index.js';

/** The only method of a pipeline, as DLHub calls a servable by default. */
export const PIPELINE_METHOD = 'run';

/** Why a pipeline build makes no image, for the build outcome. */
export const PIPELINE_NO_IMAGE = 'a pipeline runs its steps in their own servables\' workers';

/** How one step went: which servable ran, where, and whether the memo cache answered. */
export interface StepOutcome {
  /** Index into `servable.steps`. */
  step: number;
  servable: string;
  method: string;
  runtime: string;
  /** Per input for a batch. */
  cached: boolean | boolean[];
  elapsedMs: number;
}

/** A pipeline's answer: the last step's output, and how each step went. */
export interface PipelineOutcome extends RunOutcome {
  steps: StepOutcome[];
}

/** Is this document a pipeline (`servable.type: "pipeline"`)? */
export function isPipeline(metadata: ServableMetadata): boolean {
  return metadata.servable.type === 'pipeline';
}

function stepsOf(metadata: ServableMetadata): PipelineStep[] {
  return metadata.servable.steps ?? [];
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof NdArray) return `an ndarray of shape [${value.shape.join(', ')}]`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Reshape a value between steps: `pick` walks keys and indices (an ndarray is read as nested lists,
 * negative indices count from the end), then `wrap` puts the result in a list or under a key.
 * Throws InputError naming `where` and the part of the path that did not fit.
 */
export function applyMapping(value: unknown, mapping: ValueMapping | undefined, where: string): unknown {
  if (!mapping) return value;
  let out = value;
  const path = mapping.pick === undefined ? [] : Array.isArray(mapping.pick) ? mapping.pick : [mapping.pick];
  path.forEach((part, i) => {
    const at = `${where}.pick${Array.isArray(mapping.pick) ? `[${i}]` : ''}`;
    const current = out instanceof NdArray ? out.toJSON() : out;
    if (typeof part === 'number') {
      if (!Array.isArray(current)) {
        throw new InputError('INPUT_INVALID', `${at} takes index ${part}, but the value is ${kindOf(out)}, not a list.`, {
          hint: 'Fix the step\'s "pick" in the pipeline\'s dlhub.json to match what the previous step returns (try the step on its own with `dlhub run`).',
        });
      }
      const index = part < 0 ? current.length + part : part;
      if (index < 0 || index >= current.length) {
        throw new InputError('INPUT_INVALID', `${at} takes index ${part}, but the list has ${current.length} item${current.length === 1 ? '' : 's'}.`, {
          hint: 'Fix the step\'s "pick" in the pipeline\'s dlhub.json to an index the previous step\'s output has.',
        });
      }
      out = current[index];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, part)) {
        const keys = typeof current === 'object' && current !== null && !Array.isArray(current) ? Object.keys(current) : [];
        throw new InputError('INPUT_INVALID', `${at} takes key "${part}", but the value is ${kindOf(out)}${keys.length > 0 ? ` with keys ${keys.join(', ')}` : ''}.`, {
          hint: 'Fix the step\'s "pick" in the pipeline\'s dlhub.json to a key the previous step returns.',
        });
      }
      out = (current as Record<string, unknown>)[part];
    }
  });
  if (mapping.wrap === 'list') return [out];
  if (mapping.wrap === 'object') return { [mapping.key ?? 'value']: out };
  return out;
}

/** Where a step sits, for messages: `pipeline "p" steps[1] (servable "s", method "m")`. */
function stepLabel(pipeline: string, index: number, step: PipelineStep, method?: string): string {
  const m = method ?? step.method;
  return `pipeline "${pipeline}" steps[${index}] (servable "${step.servable}"${m ? `, method "${m}"` : ''})`;
}

/**
 * The error a failed step raises, as the same class (a ModelError stays a ModelError with its
 * Python type and traceback) with the pipeline, the step index and the servable named.
 */
export function stepError(err: unknown, pipeline: string, index: number, step: PipelineStep, method?: string): DlhubError {
  const original = toDlhubError(err);
  const label = stepLabel(pipeline, index, step, method);
  const details = { ...original.details, pipeline, step: index, stepServable: step.servable };
  let message: string;
  if (original instanceof ModelError) {
    // errorFromJSON expects "<PythonType>: <message>" for a model error, so the step goes at the end.
    message = `${original.message} (in ${label})`;
  } else {
    message = `In ${label}: ${original.message}`;
  }
  const json: ErrorJSON = { ...(original.toJSON() as unknown as ErrorJSON), message, details };
  const rebuilt = errorFromJSON(json);
  // Classes that build their own details (ModelError) drop the step fields; put them back.
  return Object.assign(rebuilt, { details: { ...rebuilt.details, ...details } });
}

/** Step chains that lead back to `start`, for the cycle check: each as the list of names walked. */
function findCycle(paths: HomePaths, start: string, steps: PipelineStep[], trail: string[] = [start]): string[] | undefined {
  for (const step of steps) {
    if (trail.includes(step.servable)) return [...trail, step.servable];
    let inner: LocalServable | undefined;
    try {
      inner = getLocalCached(paths, step.servable);
    } catch {
      continue; // a missing step is reported on its own
    }
    if (isPipeline(inner.metadata)) {
      const cycle = findCycle(paths, start, stepsOf(inner.metadata), [...trail, step.servable]);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

/**
 * Build-time checks of a pipeline: every step names a servable built on this machine and a method
 * it has, and no chain of steps leads back to the pipeline itself. Throws MetadataError listing
 * every problem by field.
 */
export function checkPipeline(paths: HomePaths, metadata: ServableMetadata): void {
  const name = metadata.dlhub.name;
  const steps = stepsOf(metadata);
  const problems: MetadataProblem[] = [];
  let known: string[] | undefined;
  steps.forEach((step, i) => {
    const field = `servable.steps[${i}]`;
    if (step.servable === name) {
      problems.push({ field: `${field}.servable`, rule: 'acyclic', message: `${field}.servable is the pipeline "${name}" itself`, fix: 'name another servable: a pipeline cannot run itself' });
      return;
    }
    let target: LocalServable;
    try {
      target = getLocal(paths, step.servable);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      known ??= listLocal(paths).map((s) => s.name);
      problems.push({
        field: `${field}.servable`, rule: 'exists',
        message: `${field}.servable names "${step.servable}", which is not built on this machine`,
        fix: `build it first with \`dlhub build DIR\`${known.length > 0 ? `, or name one of: ${known.join(', ')}` : ''}`,
      });
      return;
    }
    const methods = isPipeline(target.metadata) ? [PIPELINE_METHOD] : Object.keys(target.metadata.servable.methods ?? {});
    if (step.method !== undefined && !methods.includes(step.method)) {
      problems.push({ field: `${field}.method`, rule: 'exists', message: `${field}.method is "${step.method}", which servable "${step.servable}" does not have`, fix: `use one of: ${methods.join(', ')}` });
    }
    if (isPipeline(target.metadata)) {
      const cycle = findCycle(paths, name, stepsOf(target.metadata), [name, step.servable]);
      if (cycle) {
        problems.push({ field: `${field}.servable`, rule: 'acyclic', message: `${field}.servable leads back to "${name}": ${cycle.join(' -> ')}`, fix: `remove "${name}" from the steps of "${step.servable}", or name another servable here` });
      }
    }
  });
  if (problems.length > 0) {
    const list = problems.map((p) => `  - ${p.message} [${p.rule}]; fix: ${p.fix}`).join('\n');
    throw new MetadataError(`Pipeline "${name}" cannot be built (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`, problems,
      'Build the step servables first, then fix servable.steps in the pipeline\'s dlhub.json and build it again.');
  }
}

/** The method a step calls, as the engine resolves it. */
function stepMethod(target: LocalServable, step: PipelineStep): MethodMetadata | undefined {
  const methods = target.metadata.servable.methods ?? {};
  const chosen = chooseMethod(Object.keys(methods), step.method);
  return chosen === undefined ? undefined : methods[chosen];
}

/**
 * A pipeline whose dlhub.json declares no methods gets `run` recorded, so describe, the catalog and
 * task submission see it like any servable: its input type is the first step's (unless mapped on
 * the way in), its output type the last step's (unless mapped on the way out).
 */
function withRunMethod(paths: HomePaths, metadata: ServableMetadata): ServableMetadata {
  if (Object.keys(metadata.servable.methods ?? {}).length > 0) return metadata;
  const steps = stepsOf(metadata);
  const first = steps[0];
  const last = steps[steps.length - 1];
  const run: MethodMetadata = { description: `Pipeline: ${steps.map((s) => s.servable).join(' -> ')}` };
  const input = first && !first.input ? stepMethod(getLocal(paths, first.servable), first)?.input : undefined;
  const output = last && !last.output ? stepMethod(getLocal(paths, last.servable), last)?.output : undefined;
  if (input) run.input = input;
  if (output) run.output = output;
  return { ...metadata, servable: { ...metadata.servable, methods: { [PIPELINE_METHOD]: run } } };
}

/**
 * "Build" a pipeline: check its steps (checkPipeline), then record its dlhub.json where the registry
 * finds servables. No image and no runner: a pipeline's steps run in their own servables' workers.
 * Returns the content key (a hash of the recorded metadata) and the metadata as recorded.
 */
export async function preparePipeline(paths: HomePaths, sourceDir: string, source: ServableMetadata): Promise<{ contentKey: string; metadata: ServableMetadata }> {
  checkPipeline(paths, source);
  const metadata = withRunMethod(paths, source);
  const name = metadata.dlhub.name;
  const text = `${JSON.stringify(metadata, null, 2)}\n`;
  const contentKey = createHash('sha256').update('pipeline\0').update(text).digest('hex');
  const root = servableRoot(paths, name);
  await mkdir(root, { recursive: true });
  // Assembled aside and renamed in, as the packager does, so a crash never leaves half a context.
  const tmp = await mkdtemp(join(root, '.context-'));
  try {
    await mkdir(join(tmp, 'servable'));
    await writeFile(join(tmp, 'servable', 'dlhub.json'), text);
    const dir = join(root, 'context');
    await rm(`${tmp}.old`, { recursive: true, force: true });
    await rename(dir, `${tmp}.old`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(tmp, dir);
    await rm(`${tmp}.old`, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  writePrepared(paths, { name, version: metadata.dlhub.version, contentKey, tag: '', sourceDir, preparedAt: new Date().toISOString() });
  return { contentKey, metadata };
}

/** The pipelines a step call is running inside, carried on the request to the nested engine run. */
const TRAIL = Symbol('dlhub.pipelineTrail');
type TracedRequest = RunRequest & { [TRAIL]?: string[] };

/** Everything but what each step sets for itself, so options such as noCache, runtime or a timeout reach every step. */
function passThrough(req: RunRequest): Omit<RunRequest, 'name' | 'method' | 'input' | 'inputs' | 'parameters'> {
  const { name: _n, method: _m, input: _i, inputs: _is, parameters: _p, ...rest } = req;
  return rest;
}

/** The call's time limit, which the steps share: each step may take what the ones before it left. */
export interface PipelineBudget {
  /** undefined or 0: no limit. */
  timeoutMs: number | undefined;
  /** Whether the limit came from DLHUB_TIMEOUT_SECONDS rather than the call (for the hint). */
  fromSetting: boolean;
}

/**
 * Run a pipeline: each step is one call of `run` (an ordinary engine run, memo included) with the
 * previous step's output, mapped; a batch goes through each step as one batch. A failing step fails
 * the pipeline with stepError.
 */
export async function runPipeline(
  run: (req: RunRequest, timeoutMs: number | undefined) => Promise<RunOutcome>,
  pipeline: LocalServable,
  req: RunRequest,
  budget?: PipelineBudget,
): Promise<PipelineOutcome> {
  const started = performance.now();
  const name = pipeline.name;
  const methods = pipeline.metadata.servable.methods ?? {};
  const declared = Object.keys(methods);
  const methodName = req.method ?? PIPELINE_METHOD;
  if (methodName !== PIPELINE_METHOD && !declared.includes(methodName)) {
    throw new NotFoundError('METHOD_NOT_FOUND', `Pipeline "${name}" has no method "${methodName}".`, {
      hint: `A pipeline is called with its one method, "${PIPELINE_METHOD}" (leave --method out).`,
    });
  }
  if (req.parameters !== undefined) {
    throw new InputError('INPUT_INVALID', `Pipeline "${name}" takes no parameters; its steps carry their own.`, {
      hint: 'Set "parameters" on a step in the pipeline\'s dlhub.json, or call the step servable directly.',
    });
  }
  // Builds refuse cycles; the trail of pipelines this call is inside also stops one made by editing
  // files by hand, at no cost to the hot path (no file is read for it).
  const trail = (req as TracedRequest)[TRAIL] ?? [];
  if (trail.includes(name)) {
    const cycle = [...trail.slice(trail.indexOf(name)), name].join(' -> ');
    throw new MetadataError(`Pipeline "${name}" leads back to itself: ${cycle}.`,
      [{ field: 'servable.steps', rule: 'acyclic', message: `the steps lead back to "${name}": ${cycle}`, fix: `rebuild "${name}" with \`dlhub build DIR\`, which refuses a pipeline that includes itself` }]);
  }
  // Each step's run applies the batch size limit; here only the empty batch is refused.
  const { batch, inputs } = callInputs(req, Number.POSITIVE_INFINITY);
  const inputType = methods[methodName]?.input;
  if (inputType) inputs.forEach((v, i) => checkInput(v, inputType, batch ? `inputs[${i}]` : 'input'));

  const values: unknown[] = [...inputs];
  // Batch items that failed at some step leave the batch there, with their error, as in any batch.
  const errors: (ErrorJSON | null)[] = values.map(() => null);
  const steps: StepOutcome[] = [];
  const rest = passThrough(req);
  // The runtime of the last step that ran; none when every input failed before the first step.
  let runtime = 'none';
  // The steps' model time added up; unknown as soon as one step's runner does not send it.
  let inferenceMs: number | undefined = 0;
  const limit = budget?.timeoutMs !== undefined && budget.timeoutMs > 0 ? budget.timeoutMs : undefined;
  const overrun = (): DlhubError => timeoutError(name, limit ?? 0, budget?.fromSetting ?? false);
  for (const [index, step] of stepsOf(pipeline.metadata).entries()) {
    const left = limit === undefined ? undefined : limit - (performance.now() - started);
    if (left !== undefined && left <= 0) throw stepError(overrun(), name, index, step);
    const fail = (i: number, err: unknown, method?: string): void => {
      const wrapped = stepError(err, name, index, step, method);
      if (!batch) throw wrapped;
      errors[i] = wrapped.toJSON() as unknown as ErrorJSON;
      values[i] = null;
    };
    const mapped: unknown[] = [];
    const alive: number[] = [];
    values.forEach((v, i) => {
      if (errors[i] !== null) return;
      try {
        mapped.push(applyMapping(v, step.input, `servable.steps[${index}].input${batch ? ` (inputs[${i}])` : ''}`));
        alive.push(i);
      } catch (err) {
        fail(i, err);
      }
    });
    if (alive.length === 0) break;
    let outcome: RunOutcome;
    try {
      const stepReq: TracedRequest = {
        ...rest,
        name: step.servable,
        ...(step.method !== undefined ? { method: step.method } : {}),
        ...(step.parameters !== undefined ? { parameters: step.parameters } : {}),
        ...(batch ? { inputs: mapped } : { input: mapped[0] }),
        [TRAIL]: [...trail, name],
      };
      outcome = await run(stepReq, left);
    } catch (err) {
      // Whole-call failures (servable gone, runtime down, bad input to the batch) fail the pipeline;
      // a step stopped by the shared limit reports the pipeline's limit, not what was left of it.
      const timedOut = limit !== undefined && err instanceof LimitError && err.code === 'TIMEOUT';
      throw stepError(timedOut ? overrun() : err, name, index, step);
    }
    const outputs = batch ? (outcome.output as unknown[]) : [outcome.output];
    const stepCached = Array.isArray(outcome.cached) ? outcome.cached : [outcome.cached];
    const cached: boolean[] = values.map(() => false);
    alive.forEach((i, j) => {
      const itemError = outcome.errors?.[j];
      if (itemError) {
        fail(i, errorFromJSON(itemError), outcome.method);
        return;
      }
      cached[i] = stepCached[j] === true;
      try {
        values[i] = applyMapping(outputs[j], step.output, `servable.steps[${index}].output${batch ? ` (inputs[${i}])` : ''}`);
      } catch (err) {
        fail(i, err, outcome.method);
      }
    });
    runtime = outcome.runtime;
    inferenceMs = inferenceMs === undefined || outcome.inferenceMs === undefined ? undefined : inferenceMs + outcome.inferenceMs;
    steps.push({ step: index, servable: outcome.servable, method: outcome.method, runtime: outcome.runtime, cached: batch ? cached : cached[0] ?? false, elapsedMs: outcome.elapsedMs });
  }
  // The pipeline's answer counts as cached only where every step's was.
  const cachedAt = (i: number): boolean => errors[i] === null && steps.length > 0 && steps.every((s) => (Array.isArray(s.cached) ? s.cached[i] === true : s.cached));
  const outcome: PipelineOutcome = {
    servable: name,
    method: methodName,
    runtime,
    output: batch ? values : values[0],
    cached: batch ? values.map((_, i) => cachedAt(i)) : cachedAt(0),
    elapsedMs: performance.now() - started,
    steps,
  };
  if (inferenceMs !== undefined) outcome.inferenceMs = inferenceMs;
  if (errors.some((e) => e !== null)) outcome.errors = errors;
  return outcome;
}

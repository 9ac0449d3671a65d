// The rules every way into the engine shares (a run, a submitted task, a pipeline and its steps):
// which method a call means, and which inputs it carries.
import { InputError, LimitError, NotFoundError } from '../errors.js';
import type { MethodMetadata } from '../servable/metadata.js';
import type { LocalServable } from '../servable/registry.js';
import type { RunRequest } from '../contract/index.js';

/** The method a call means among `declared`: the one named, else `run` (DLHub's default), else the first declared. */
export function chooseMethod(declared: readonly string[], requested: string | undefined): string | undefined {
  return requested ?? (declared.includes('run') ? 'run' : declared[0]);
}

/** The method to call and its metadata; METHOD_NOT_FOUND naming the methods there are. */
export function resolveMethod(servable: LocalServable, requested: string | undefined): [string, MethodMetadata] {
  const methods = servable.metadata.servable.methods ?? {};
  const names = Object.keys(methods);
  const name = chooseMethod(names, requested);
  const method = name === undefined ? undefined : methods[name];
  if (name === undefined || method === undefined) {
    throw new NotFoundError('METHOD_NOT_FOUND', `Servable "${servable.name}" has no method "${requested ?? ''}".`, {
      hint: names.length > 0 ? `Its methods are: ${names.join(', ')}. Choose one with --method.` : 'Its dlhub.json declares no methods under servable.methods.',
    });
  }
  return [name, method];
}

/**
 * The inputs of a call: `[input]` for one, the list for a batch. A batch is refused when empty, or
 * when it holds more than `maxItems` (DLHUB_MAX_BATCH_ITEMS) items.
 */
export function callInputs(req: Pick<RunRequest, 'input' | 'inputs'>, maxItems: number): { batch: boolean; inputs: unknown[] } {
  if (req.inputs === undefined) return { batch: false, inputs: [req.input] };
  if (req.inputs.length === 0) throw new InputError('INPUT_INVALID', 'The batch is empty.', { hint: 'Give at least one input in the batch.' });
  if (req.inputs.length > maxItems) throw batchTooLargeError(req.inputs.length, maxItems);
  return { batch: true, inputs: req.inputs };
}

/** The error for a batch over DLHUB_MAX_BATCH_ITEMS. */
export function batchTooLargeError(items: number, max: number): LimitError {
  return new LimitError('LIMIT_EXCEEDED', `The batch has ${items} items; this process takes at most ${max} in one call.`, {
    hint: 'Split the inputs into several batches (or tasks), or raise DLHUB_MAX_BATCH_ITEMS.',
    details: { limit: 'batchItems', items, max, setting: 'DLHUB_MAX_BATCH_ITEMS' },
  });
}

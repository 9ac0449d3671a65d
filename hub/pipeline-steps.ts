// A pipeline as the hub takes it: no image of its own, its steps pinned as OWNER/NAME@VERSION
// records that exist and that the publisher may see. What the publisher may not see answers as
// what does not exist (NOT_FOUND), so a publish cannot probe for private names.
import { NotFoundError, UsageError } from '../main/errors.js';
import { NAME_PATTERN, VERSION_PATTERN } from './contract.js';

const name = NAME_PATTERN.slice(1, -1);
const version = VERSION_PATTERN.slice(1, -1);
const STEP_REF = new RegExp(`^(${name})/(${name})@(${version})$`);

/** The most steps a pipeline may have (schemas/servable.json says the same). */
export const MAX_STEPS = 32;

/** One pinned step: a published version of some owner's servable. */
export interface StepRef {
  owner: string;
  name: string;
  version: string;
}

/** `OWNER/NAME@VERSION` split, or undefined when it is not one. */
export function parseStepRef(text: unknown): StepRef | undefined {
  if (typeof text !== 'string') return undefined;
  const m = STEP_REF.exec(text);
  return m ? { owner: m[1] as string, name: m[2] as string, version: m[3] as string } : undefined;
}

/** A step reference as text. */
export function stepRefText(r: StepRef): string {
  return `${r.owner}/${r.name}@${r.version}`;
}

/** Whether the metadata describes a pipeline (`servable.type` or `dlhub.type` is "pipeline"). */
export function isPipelineMetadata(metadata: Record<string, unknown>): boolean {
  const servable = metadata['servable'] as { type?: unknown } | undefined;
  const dlhub = metadata['dlhub'] as { type?: unknown } | undefined;
  return servable?.type === 'pipeline' || dlhub?.type === 'pipeline';
}

/**
 * The pinned steps of a pipeline's metadata, checked for form: 1 to MAX_STEPS steps, each
 * `servable` an OWNER/NAME@VERSION, none the pipeline itself. Throws USAGE naming the field.
 */
export function pinnedSteps(metadata: Record<string, unknown>, self: { owner: string; name: string }): StepRef[] {
  const steps = (metadata['servable'] as { steps?: unknown } | undefined)?.steps;
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_STEPS) {
    throw new UsageError('USAGE', `A pipeline needs 1 to ${MAX_STEPS} steps in metadata.servable.steps.`, { hint: 'List the steps, each {"servable": "OWNER/NAME@VERSION"}.', details: { field: '/metadata/servable/steps' } });
  }
  return steps.map((step: unknown, i) => {
    const text = typeof step === 'object' && step !== null ? (step as { servable?: unknown }).servable : undefined;
    const ref = parseStepRef(text);
    if (!ref) {
      throw new UsageError('USAGE', `metadata.servable.steps[${i}].servable is ${JSON.stringify(text)}, not a pinned OWNER/NAME@VERSION.`, {
        hint: 'Publish the pipeline with `dlhub publish NAME`, which pins each step to its published version.', details: { field: `/metadata/servable/steps/${i}/servable` },
      });
    }
    if (ref.owner === self.owner && ref.name === self.name) {
      throw new UsageError('USAGE', `metadata.servable.steps[${i}] is the pipeline ${self.owner}/${self.name} itself.`, { hint: 'A pipeline cannot run itself: name another servable.', details: { field: `/metadata/servable/steps/${i}/servable` } });
    }
    return ref;
  });
}

/** The error for a step that does not exist or that the caller may not see (the two read alike). */
export function stepNotFound(pipeline: string, index: number, ref: StepRef): NotFoundError {
  return new NotFoundError('NOT_FOUND', `Pipeline ${pipeline} step ${index + 1} is ${stepRefText(ref)}, which does not exist or which you may not see.`, {
    hint: `Publish ${ref.owner}/${ref.name} first, or ask ${ref.owner} to share it with you.`, details: { step: index, ref: stepRefText(ref) },
  });
}

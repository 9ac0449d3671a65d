// Pipelines on the hub: a pipeline publishes no image; each of its steps is pinned to a published
// version (OWNER/NAME@VERSION). Publishing resolves each step: one pulled from the hub is pinned to
// the version pulled; one built here is published first (a no-op when the hub has that content) and
// pinned to the version the hub answers. Pulling resolves every pinned step's record before anything
// is written, so a step the caller may not see refuses the whole pull with nothing left behind; then
// the steps are pulled, and the pipeline is written with its steps renamed to the local names.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DlhubError, NotFoundError, UsageError, toDlhubError } from '../errors.js';
import type { HubWorkOutcome, PullOutcome } from '../contract/hub.js';
import type { ProgressEvent } from '../contract/schemas.js';
import type { PipelineStep, ServableMetadata } from '../servable/metadata.js';
import { findLocal, forgetLocalCached, getLocal, servableRoot, type LocalServable } from '../servable/registry.js';
import type { HomePaths } from '../storage/home.js';
import { hubApi, type HubApi } from './hub-api.js';
import type { HubRecord, HubVisibility } from './hub-types.js';
import { renameIntoServables } from './rename-in.js';
import type { Session } from './session.js';

/** How deep pipelines may nest (a pipeline whose step is a pipeline...). */
const MAX_DEPTH = 8;
const NAME = '(?!.*\\.\\.)[a-z0-9][a-z0-9._-]{0,63}';
const PIN_RE = new RegExp(`^(${NAME})/(${NAME})@((?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._+-]{0,63})$`);

type Progress = { onProgress?: ((e: ProgressEvent) => void) | undefined; signal?: AbortSignal | undefined };

/** One pinned step. */
export interface Pin {
  owner: string;
  name: string;
  version: string;
}

/** `OWNER/NAME@VERSION` read, or undefined. */
export function parsePin(text: unknown): Pin | undefined {
  const m = typeof text === 'string' ? PIN_RE.exec(text) : null;
  return m ? { owner: m[1] as string, name: m[2] as string, version: m[3] as string } : undefined;
}

/** A pin as text. */
export function pinText(p: Pin): string {
  return `${p.owner}/${p.name}@${p.version}`;
}

/** Where a pulled servable came from (servables/NAME/hub.json, written by a pull). */
export interface PulledRecord {
  hub: string;
  owner: string;
  name: string;
  version: string;
  digest: string;
  /** A pulled pipeline's pinned steps. */
  steps?: string[];
}

/** The hub record a servable here was pulled from, or undefined when it was built here. */
export function pulledFrom(paths: HomePaths, name: string): PulledRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(servableRoot(paths, name), 'hub.json'), 'utf8')) as PulledRecord;
  } catch {
    return undefined;
  }
}

function isPipelineMd(md: ServableMetadata): boolean {
  return md.servable.type === 'pipeline';
}

function stepsOf(md: ServableMetadata): PipelineStep[] {
  return md.servable.steps ?? [];
}

/** The idempotency key of a step's publish, made from the pipeline's: a retry from the outbox sends the same keys. */
function stepKey(key: string, step: string): string {
  return `dlhub-step-${createHash('sha256').update(`${key}\0${step}`).digest('hex').slice(0, 40)}`;
}

// --- publish ---------------------------------------------------------------------------------

/** What a pipeline publish calls to publish a step built here (the ordinary publish). */
export type PublishOne = (name: string, visibility: string | undefined, key: string) => Promise<HubWorkOutcome>;

/**
 * Publish a local pipeline: each step pinned (see the module comment), then the metadata sent with
 * no image. A step built here that the hub does not know yet is published with the pipeline's
 * visibility; one it knows keeps its own.
 */
export async function publishPipeline(paths: HomePaths, s: Session, local: LocalServable, visibility: HubVisibility | undefined, visibilityText: string | undefined, key: string, publishOne: PublishOne, ctx: Progress = {}, trail: string[] = []): Promise<HubWorkOutcome> {
  const name = local.name;
  if (trail.includes(name) || trail.length >= MAX_DEPTH) {
    throw new UsageError('USAGE', `Pipeline "${name}" leads back to itself or nests more than ${MAX_DEPTH} deep: ${[...trail, name].join(' -> ')}.`, { hint: 'Rebuild it with `dlhub build DIR`, which refuses cycles.' });
  }
  const api = hubApi(s.hub, s.token, ctx.signal);
  const steps = stepsOf(local.metadata);
  const pinned: PipelineStep[] = [];
  for (const [i, step] of steps.entries()) {
    ctx.onProgress?.({ phase: 'publish', step: i, total: steps.length + 1, message: `Pinning step ${i + 1} of ${name}: ${step.servable}` });
    pinned.push({ ...step, servable: pinText(await pinStep(paths, s, api, name, i, step.servable, visibility, visibilityText, stepKey(key, step.servable), publishOne, ctx, [...trail, name])) });
  }
  const md = local.metadata;
  const metadata = { ...md, dlhub: { ...md.dlhub, owner: md.dlhub.owner ?? s.user }, servable: { ...md.servable, steps: pinned } } as unknown as Record<string, unknown>;
  ctx.onProgress?.({ phase: 'publish', step: steps.length, total: steps.length + 1, message: `Sending the pipeline ${s.user}/${name} (${pinned.map((p) => p.servable).join(' -> ')})` });
  const r = await api.publish({ metadata, idempotencyKey: key, ...(visibility ? { visibility } : {}) });
  return { status: r.created ? 'published' : 'unchanged', name, owner: r.owner, version: r.version };
}

async function pinStep(paths: HomePaths, s: Session, api: HubApi, pipeline: string, index: number, stepName: string, visibility: HubVisibility | undefined, visibilityText: string | undefined, key: string, publishOne: PublishOne, ctx: Progress, trail: string[]): Promise<Pin> {
  let step: LocalServable;
  try {
    step = getLocal(paths, stepName);
  } catch (err) {
    const e = toDlhubError(err);
    throw new NotFoundError('SERVABLE_NOT_FOUND', `Pipeline "${pipeline}" step ${index + 1} is "${stepName}", which is not on this machine, so it cannot be pinned.`, { hint: `Build or pull "${stepName}", then publish again.`, details: { step: index, servable: stepName, cause: e.message } });
  }
  const from = pulledFrom(paths, stepName);
  if (from) {
    if (from.hub !== s.hub) {
      throw new DlhubError('CONFLICT', `Pipeline "${pipeline}" step ${index + 1} ("${stepName}") was pulled from ${from.hub}, not from ${s.hub}.`, { hint: `Pull ${from.owner}/${from.name} from ${s.hub}, or publish to ${from.hub}.` });
    }
    return { owner: from.owner, name: from.name, version: from.version };
  }
  // Built here: publish it (the same content again is the hub's no-op) and pin what the hub answers.
  const known = await api.getServable(s.user, stepName).then(() => true, (err: unknown) => {
    if (toDlhubError(err).code === 'NOT_FOUND') return false;
    throw err;
  });
  const stepVisibility = known ? undefined : visibilityText;
  const r = isPipelineMd(step.metadata)
    ? await publishPipeline(paths, s, step, known ? undefined : visibility, stepVisibility, key, publishOne, ctx, trail)
    : await publishOne(stepName, stepVisibility, key);
  if (r.owner === undefined || r.version === undefined) {
    throw new DlhubError('INTERNAL', `Publishing step "${stepName}" answered no version.`, { hint: 'This is a bug in DLHub Desktop; please report it.' });
  }
  return { owner: r.owner, name: stepName, version: r.version };
}

// --- pull ------------------------------------------------------------------------------------

/** What a pipeline pull needs from the desktop. */
export interface PipelinePullDeps {
  paths: HomePaths;
  catalog: (metadata: ServableMetadata) => void;
  /** The record's metadata as this desktop files it (validated). */
  recordMetadata: (r: HubRecord) => ServableMetadata;
  /** Pull one servable with an image (the ordinary pull). */
  pullOne: (ref: string) => Promise<PullOutcome>;
}

/** A pipeline's records, resolved on the hub: the pipeline and, leaves first, every step under it. */
interface Plan {
  pipelines: { record: HubRecord; pins: Pin[] }[];
  images: HubRecord[];
}

function pinsOf(record: HubRecord): Pin[] {
  const steps = ((record.metadata as { servable?: { steps?: unknown } }).servable?.steps ?? []) as { servable?: unknown }[];
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new DlhubError('INPUT_INVALID', `The hub's record of ${record.owner}/${record.name}@${record.version} has no image and no steps.`, { hint: 'Ask its owner to publish it again.' });
  }
  return steps.map((st, i) => {
    const pin = parsePin(st?.servable);
    if (!pin) throw new DlhubError('INPUT_INVALID', `The hub's record of pipeline ${record.owner}/${record.name}@${record.version} names ${JSON.stringify(st?.servable)} as step ${i + 1}, not OWNER/NAME@VERSION.`, { hint: 'Ask its owner to publish it again with `dlhub publish`.' });
    return pin;
  });
}

async function resolvePlan(api: HubApi, record: HubRecord, plan: Plan, trail: string[]): Promise<void> {
  const self = `${record.owner}/${record.name}`;
  if (trail.includes(self) || trail.length >= MAX_DEPTH) {
    throw new DlhubError('INPUT_INVALID', `Pipeline ${[...trail, self].join(' -> ')} leads back to itself or nests more than ${MAX_DEPTH} deep.`, { hint: 'Ask its owner to publish it again.' });
  }
  const pins = pinsOf(record);
  for (const [i, pin] of pins.entries()) {
    let step: HubRecord;
    try {
      step = await api.getVersion(pin.owner, pin.name, pin.version);
    } catch (err) {
      if (toDlhubError(err).code !== 'NOT_FOUND') throw err;
      throw new NotFoundError('NOT_FOUND', `Pipeline ${self}@${record.version} step ${i + 1} is ${pinText(pin)}, which you may not see (or which was withdrawn), so the pipeline cannot run here.`, {
        hint: `Ask ${pin.owner} to share ${pin.owner}/${pin.name} with you (or ${record.owner} to publish the pipeline with a step you may see).`, details: { step: i, ref: pinText(pin) },
      });
    }
    if (step.image) plan.images.push(step);
    else await resolvePlan(api, step, plan, [...trail, self]);
  }
  plan.pipelines.push({ record, pins });
}

/** Refuse before anything is written: a name here that is someone else's, or one name pinned twice differently. */
function checkNames(paths: HomePaths, plan: Plan): void {
  const wanted = new Map<string, HubRecord>();
  for (const r of [...plan.images, ...plan.pipelines.map((p) => p.record)]) {
    const other = wanted.get(r.name);
    if (other && (other.owner !== r.owner || other.version !== r.version)) {
      throw new DlhubError('CONFLICT', `The pipeline needs both ${other.owner}/${other.name}@${other.version} and ${r.owner}/${r.name}@${r.version}; one machine holds one servable per name.`, { hint: 'Ask the pipeline\'s owner to pin one version of each step.' });
    }
    wanted.set(r.name, r);
    const from = pulledFrom(paths, r.name);
    if (findLocal(paths, r.name) && (!from || from.owner !== r.owner)) {
      throw new DlhubError('CONFLICT', `A servable named "${r.name}" is already on this machine${from ? ` (pulled from ${from.owner})` : ' (built here)'}, and the pipeline needs ${r.owner}/${r.name}.`, {
        hint: `Remove it first with \`dlhub rm ${r.name}\`, then pull again.`,
      });
    }
  }
}

/** Write a pulled pipeline whose steps are here: its metadata with each step named as here, assembled aside and renamed in. */
function writePipeline(deps: PipelinePullDeps, s: Session, record: HubRecord, pins: Pin[]): ServableMetadata {
  const filed = deps.recordMetadata(record);
  const metadata: ServableMetadata = { ...filed, servable: { ...filed.servable, steps: stepsOf(filed).map((st, i) => ({ ...st, servable: (pins[i] as Pin).name })) } };
  const text = `${JSON.stringify(metadata, null, 2)}\n`;
  const contentKey = createHash('sha256').update('pipeline\0').update(text).digest('hex');
  const work = join(deps.paths.root, 'pulling', `${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(join(work, 'context', 'servable'), { recursive: true });
    writeFileSync(join(work, 'context', 'servable', 'dlhub.json'), text);
    const pulled: PulledRecord = { hub: s.hub, owner: record.owner, name: record.name, version: record.version, digest: '', steps: pins.map(pinText) };
    writeFileSync(join(work, 'hub.json'), JSON.stringify(pulled, null, 2));
    writeFileSync(join(work, 'prepared.json'), JSON.stringify({ name: record.name, version: record.version, contentKey, tag: '', sourceDir: `${s.hub}/${record.owner}/${record.name}@${record.version}`, preparedAt: new Date().toISOString() }, null, 2));
    renameIntoServables(deps.paths, work, record.name);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  forgetLocalCached(deps.paths, record.name);
  deps.catalog(metadata);
  return metadata;
}

/** Pull a pipeline record and every step it pins; see the module comment. */
export async function pullPipeline(deps: PipelinePullDeps, s: Session, record: HubRecord, ctx: Progress = {}): Promise<PullOutcome> {
  const api = hubApi(s.hub, s.token, ctx.signal);
  const plan: Plan = { pipelines: [], images: [] };
  await resolvePlan(api, record, plan, []);
  checkNames(deps.paths, plan);
  const before = pulledFrom(deps.paths, record.name);
  let unchanged = before?.owner === record.owner && before.version === record.version;
  const seen = new Set<string>();
  for (const [i, step] of plan.images.entries()) {
    const ref = `${step.owner}/${step.name}@${step.version}`;
    if (seen.has(ref)) continue;
    seen.add(ref);
    ctx.onProgress?.({ phase: 'pull', step: i, total: plan.images.length + 1, message: `Pulling step ${ref}` });
    const r = await deps.pullOne(ref);
    unchanged &&= r.unchanged;
  }
  // Leaves first: a nested pipeline is written before the pipeline that names it.
  for (const p of plan.pipelines) writePipeline(deps, s, p.record, p.pins);
  const pins = plan.pipelines[plan.pipelines.length - 1]?.pins ?? [];
  ctx.onProgress?.({ phase: 'pull', step: plan.images.length, total: plan.images.length + 1, message: `${record.owner}/${record.name}@${record.version} is here with ${pins.length} pinned step(s)` });
  return { owner: record.owner, name: record.name, version: record.version, digest: '', imageId: '', unchanged, steps: pins.map(pinText) };
}

// Pulling `OWNER/NAME[@VERSION]`: the record from the hub, the image by digest (checked on arrival),
// then the servable's files written in a folder of their own and moved into place in one rename, so
// an interrupted pull leaves either the servable ready to run offline or nothing of it.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { DlhubError, RuntimeUnavailableError, UsageError } from '../errors.js';
import type { PullOutcome } from '../contract/hub.js';
import type { ProgressEvent } from '../contract/schemas.js';
import { homeTag } from '../runtime/docker/image.js';
import { findLocal, forgetLocalCached, servableRoot } from '../servable/registry.js';
import { isServableName } from '../servable/names.js';
import type { ServableMetadata } from '../servable/metadata.js';
import { validateMetadata } from '../servable/validate.js';
import { isProcessAlive } from '../storage/process-alive.js';
import type { HomePaths } from '../storage/home.js';
import { hubApi } from './hub-api.js';
import type { HubRecord } from './hub-types.js';
import { DIGEST_RE, pullImage } from './image-transfer.js';
import type { Session } from './session.js';
import { pullPipeline } from './pipeline-pins.js';
import { renameIntoServables } from './rename-in.js';

const NAME = '[a-z0-9][a-z0-9._-]{0,63}';
const REF_RE = new RegExp(`^(${NAME})/(${NAME})(?:@([A-Za-z0-9][A-Za-z0-9._+-]{0,63}))?$`);

/** `OWNER/NAME[@VERSION]` split and checked: no `..`, no separators or control characters. */
export function parsePullRef(ref: string): { owner: string; name: string; version: string | undefined } {
  const m = REF_RE.exec(ref);
  if (!m || ref.includes('..')) {
    throw new UsageError('USAGE', `${JSON.stringify(ref)} is not OWNER/NAME or OWNER/NAME@VERSION.`, { hint: 'e.g. dlhub pull alice/iris or dlhub pull alice/iris@2' });
  }
  return { owner: m[1] as string, name: m[2] as string, version: m[3] };
}

/** Where a pulled servable came from, kept beside its files. */
interface PulledFrom {
  hub: string;
  owner: string;
  name: string;
  version: string;
  digest: string;
}

/** The folder pulls are assembled in before they move into servables/. */
function pullingDir(paths: HomePaths): string {
  return join(paths.root, 'pulling');
}

/** Remove what pulls killed before their rename left behind (their process is gone). */
function sweepPulling(paths: HomePaths): void {
  const dir = pullingDir(paths);
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const pid = Number(entry.split('-')[0]);
    if (!Number.isInteger(pid) || (pid !== process.pid && !isProcessAlive(pid))) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

function readPulledFrom(paths: HomePaths, name: string): PulledFrom | undefined {
  try {
    return JSON.parse(readFileSync(join(servableRoot(paths, name), 'hub.json'), 'utf8')) as PulledFrom;
  } catch {
    return undefined;
  }
}

/** The record's metadata as this desktop files it: owner, name and version from the hub's record. */
export function recordMetadata(r: HubRecord): ServableMetadata {
  // Owner, name and version become catalog keys, folder names and image tags here: a record that
  // breaks the hub's own rules for them (a misbehaving hub) is refused, never filed.
  if (typeof r.owner !== 'string' || typeof r.name !== 'string' || typeof r.version !== 'string' || !REF_RE.test(`${r.owner}/${r.name}@${r.version}`) || `${r.owner}/${r.name}@${r.version}`.includes('..')) {
    throw new DlhubError('INPUT_INVALID', `The hub sent a record named ${JSON.stringify(`${String(r.owner)}/${String(r.name)}@${String(r.version)}`)}, which is not OWNER/NAME@VERSION of plain names.`, { hint: 'The hub is misbehaving; tell its administrator.' });
  }
  const md = r.metadata as { dlhub?: Record<string, unknown> };
  return validateMetadata({ ...md, dlhub: { ...(md.dlhub ?? {}), owner: r.owner, name: r.name, version: r.version } });
}

/** What a pull needs from the desktop. */
export interface PullDeps {
  paths: HomePaths;
  docker: () => Promise<Docker | undefined>;
  /** File the metadata in the catalog once the servable is here. */
  catalog: (metadata: ServableMetadata) => void;
}

/** Pull a servable and register it here; see the module comment. */
export async function pullServable(deps: PullDeps, s: Session, ref: string, ctx: { onProgress?: ((e: ProgressEvent) => void) | undefined; signal?: AbortSignal | undefined } = {}): Promise<PullOutcome> {
  const want = parsePullRef(ref);
  const api = hubApi(s.hub, s.token, ctx.signal);
  ctx.onProgress?.({ phase: 'pull', step: 0, total: 1, message: `Asking ${s.hub} for ${ref}` });
  const record = want.version === undefined ? await api.getServable(want.owner, want.name) : await api.getVersion(want.owner, want.name, want.version);
  if (record.owner !== want.owner || record.name !== want.name || (want.version !== undefined && record.version !== want.version)) {
    throw new DlhubError('CONFLICT', `The hub answered ${record.owner}/${record.name}@${record.version} for ${ref}.`, { hint: 'The hub is misbehaving; tell its administrator.' });
  }
  // A pipeline has no image: its pinned steps are pulled with it (pipeline-pins.ts).
  if (!record.image) {
    return pullPipeline({ paths: deps.paths, catalog: deps.catalog, recordMetadata, pullOne: (stepRef) => pullServable(deps, s, stepRef, ctx) }, s, record, ctx);
  }
  const digest = record.image.digest;
  if (!DIGEST_RE.test(digest)) throw new DlhubError('INPUT_INVALID', `The hub's record of ${ref} names "${digest}", not an image digest.`, { hint: 'Ask the owner to publish again.' });
  // The image is pulled from OWNER/NAME only: a record cannot send the engine (or a registry token) elsewhere.
  if (record.image.repository !== `${record.owner}/${record.name}`) throw new DlhubError('INPUT_INVALID', `The hub's record of ${ref} keeps its image under "${record.image.repository}", not ${record.owner}/${record.name}.`, { hint: 'The hub is misbehaving; tell its administrator.' });
  if (!isServableName(record.name)) throw new UsageError('USAGE', `"${record.name}" cannot be a servable name here.`, { hint: 'Ask the owner to publish under a name such as iris-classifier.' });
  const metadata = recordMetadata(record);
  const existing = findLocal(deps.paths, record.name);
  const from = readPulledFrom(deps.paths, record.name);
  if (existing && (!from || from.owner !== record.owner)) {
    throw new DlhubError('CONFLICT', `A servable named "${record.name}" is already on this machine${from ? ` (pulled from ${from.owner})` : ' (built here)'}.`, {
      hint: `Remove it first with \`dlhub rm ${record.name}\`, then pull again.`,
    });
  }
  const docker = await deps.docker();
  if (!docker) throw new RuntimeUnavailableError('No Docker engine answers, so the image cannot be pulled.', 'Start Docker (dockerd), then pull again.');
  if (existing?.image && from?.digest === digest && from.version === record.version) {
    const id = await docker.getImage(existing.image.tag).inspect().then((i) => (i as { Id: string }).Id, () => undefined);
    if (id === existing.image.imageId) return { owner: record.owner, name: record.name, version: record.version, digest, imageId: id, unchanged: true };
  }
  const { address } = await api.registryAddress();
  const repository = record.image.repository;
  const token = await api.registryToken(`repository:${repository}:pull`);
  const imageId = await pullImage(docker, { registry: address, repository, digest, token, onProgress: ctx.onProgress, signal: ctx.signal });
  const key = digest.slice('sha256:'.length, 'sha256:'.length + 16);
  const contentTag = `dlhub/${record.name}:${key}`;
  const tag = homeTag(contentTag, deps.paths.root);
  const image = docker.getImage(imageId);
  await image.tag({ repo: `dlhub/${record.name}`, tag: key });
  await image.tag({ repo: `dlhub/${record.name}`, tag: tag.slice(tag.lastIndexOf(':') + 1) });
  // The registry's name for it (host:port/owner/name@digest) was only the pull's handle: `dlhub rm` then removes the image whole.
  await docker.getImage(`${address}/${repository}@${digest}`).remove({ noprune: true }).catch(() => undefined);
  // Nothing of the pull is under servables/ until this folder is complete and renamed in.
  sweepPulling(deps.paths);
  const work = join(pullingDir(deps.paths), `${process.pid}-${randomBytes(4).toString('hex')}`);
  const servableDir = join(work, 'context', 'servable');
  mkdirSync(servableDir, { recursive: true });
  mkdirSync(join(work, 'context', 'runner'), { recursive: true });
  const contentKey = digest.slice('sha256:'.length);
  const preparedAt = new Date().toISOString();
  writeFileSync(join(servableDir, 'dlhub.json'), JSON.stringify(metadata, null, 2));
  writeFileSync(join(work, 'build.json'), JSON.stringify({ tag, imageId, contentKey }, null, 2));
  const pulled: PulledFrom = { hub: s.hub, owner: record.owner, name: record.name, version: record.version, digest };
  writeFileSync(join(work, 'hub.json'), JSON.stringify(pulled, null, 2));
  writeFileSync(join(work, 'prepared.json'), JSON.stringify({ name: record.name, version: record.version, contentKey, tag, sourceDir: `${s.hub}/${record.owner}/${record.name}@${record.version}`, preparedAt }, null, 2));
  // An earlier pull of the same owner's servable is replaced.
  renameIntoServables(deps.paths, work, record.name);
  forgetLocalCached(deps.paths, record.name);
  deps.catalog(metadata);
  ctx.onProgress?.({ phase: 'pull', step: 1, total: 1, message: `${record.owner}/${record.name}@${record.version} is here` });
  return { owner: record.owner, name: record.name, version: record.version, digest, imageId, unchanged: false };
}

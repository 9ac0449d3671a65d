// Publishing one local servable: a registry token for OWNER/NAME from the hub, the image pushed
// (progress on the way), then the metadata sent with the image's digest and an idempotency key, so
// the hub records it once however often it is sent. Same content again is the hub's no-op.
import type Docker from 'dockerode';
import { DlhubError, RuntimeUnavailableError, UsageError } from '../errors.js';
import type { HubWorkOutcome } from '../contract/hub.js';
import type { ProgressEvent } from '../contract/schemas.js';
import type { HubPublishRequest, HubVisibility } from './hub-types.js';
import { getLocal } from '../servable/registry.js';
import type { HomePaths } from '../storage/home.js';
import { hubApi } from './hub-api.js';
import { pushImage } from './image-transfer.js';
import type { Session } from './session.js';
import { publishPipeline } from './pipeline-pins.js';

/** `public`, `private` or `group:G` as the hub's visibility. */
export function hubVisibility(text: string | undefined): HubVisibility | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'public' || text === 'private') return text;
  const m = /^group:([a-z0-9][a-z0-9._-]{0,63})$/.exec(text);
  if (m && !text.includes('..')) return { groups: [m[1] as string] };
  throw new UsageError('USAGE', `--visibility ${text} is not public, private or group:GROUP.`, { hint: 'e.g. --visibility group:lab' });
}

/** What a publish needs besides the servable's name. */
export interface PublishDeps {
  paths: HomePaths;
  docker: () => Promise<Docker | undefined>;
}

/** Push the servable's image and send its metadata now; throws when the hub or registry cannot be reached. */
export async function publishNow(deps: PublishDeps, s: Session, name: string, visibility: string | undefined, idempotencyKey: string, ctx: { onProgress?: ((e: ProgressEvent) => void) | undefined; signal?: AbortSignal | undefined } = {}): Promise<HubWorkOutcome> {
  const local = getLocal(deps.paths, name);
  // A pipeline publishes no image: its steps are pinned to published versions (pipeline-pins.ts).
  if (local.metadata.servable.type === 'pipeline') {
    return publishPipeline(deps.paths, s, local, hubVisibility(visibility), visibility, idempotencyKey, (step, v, key) => publishNow(deps, s, step, v, key, ctx), ctx);
  }
  if (!local.image) {
    throw new RuntimeUnavailableError(`Servable "${name}" has no container image to publish.`, 'Build it with Docker running (`dlhub build DIR`); host-only builds cannot be published.');
  }
  const docker = await deps.docker();
  if (!docker) throw new RuntimeUnavailableError('No Docker engine answers, so the image cannot be pushed.', 'Start Docker (dockerd), then publish again.');
  const vis = hubVisibility(visibility);
  const api = hubApi(s.hub, s.token, ctx.signal);
  const owner = s.user;
  const repository = `${owner}/${name}`;
  ctx.onProgress?.({ phase: 'publish', step: 0, total: 1, message: `Asking ${s.hub} for its registry` });
  const { address } = await api.registryAddress();
  const token = await api.registryToken(`repository:${repository}:pull,push`);
  const digest = await pushImage(docker, {
    localRef: local.image.tag, registry: address, repository, tag: local.version ?? local.contentKey.slice(0, 16), token, onProgress: ctx.onProgress, signal: ctx.signal,
  });
  const md = local.metadata;
  const metadata = { ...md, dlhub: { ...md.dlhub, owner: md.dlhub.owner ?? owner } } as unknown as Record<string, unknown>;
  const request: HubPublishRequest = { metadata, image: { repository, digest }, idempotencyKey, ...(vis ? { visibility: vis } : {}) };
  ctx.onProgress?.({ phase: 'publish', step: 1, total: 1, message: `Sending the metadata of ${repository}` });
  const r = await api.publish(request);
  return { status: r.created ? 'published' : 'unchanged', name, owner: r.owner, version: r.version, digest };
}

/** Share the signed-in user's servable with a group now; throws when the hub cannot be reached. */
export async function shareNow(s: Session, name: string, group: string, signal?: AbortSignal): Promise<HubWorkOutcome> {
  if (!s.user) throw new DlhubError('UNAUTHORIZED', 'Sharing needs a signed-in user.', { hint: 'Sign in with `dlhub login`.' });
  const r = await hubApi(s.hub, s.token, signal).share(s.user, name, group);
  return { status: 'shared', name, owner: r.owner, version: r.version };
}

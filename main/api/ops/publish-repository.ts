// `publishRepository`: clone a git repository (main/hub/git-repository.ts), write its URL and commit
// into the clone's dlhub.json, build it as any servable folder, then publish it through the ordinary
// publish (queued in the outbox when the hub cannot be reached; the build is here by then). The clone
// is removed at the end, whatever happened: the built servable keeps its own copy of the files.
import { pathToFileURL } from 'node:url';
import type { BuildOutcome, BuildRequest, CallContext, OpResponse } from '../operations.js';
import type { PublishRepositoryRequest } from '../../contract/hub-repository.js';
import type { HubWorkOutcome } from '../../contract/hub.js';
import { checkRef, cloneRepository, parseRepository, recordProvenance } from '../../hub/git-repository.js';
import type { HomePaths } from '../../storage/home.js';

/** What the operation uses of the composition root. */
export interface PublishRepositoryDeps {
  paths: HomePaths;
  /** A local folder as this caller may use it (resolveDoorPath: over a network door only staging and workspaces). */
  doorFolder(path: string, ctx: CallContext | undefined): Promise<string>;
  build(req: BuildRequest, ctx: CallContext): Promise<BuildOutcome>;
  publish(req: { name: string; visibility?: string | undefined }, ctx: CallContext): Promise<HubWorkOutcome>;
}

/** Clone, record, build and publish; see the module comment. */
export async function publishRepository(deps: PublishRepositoryDeps, req: PublishRepositoryRequest, ctx: CallContext = {}): Promise<OpResponse<'publishRepository'>> {
  const ref = checkRef(req.ref);
  const where = parseRepository(req.repo);
  let url: string;
  let recorded: string;
  if (where.kind === 'path') {
    // A local repository is fetched over file:// (a shallow fetch needs a transport), once the door allows its folder.
    url = pathToFileURL(await deps.doorFolder(where.path, ctx)).href;
    recorded = url;
  } else {
    url = where.url;
    recorded = where.recorded;
  }
  const local = { onProgress: ctx.onProgress, signal: ctx.signal };
  ctx.onProgress?.({ phase: 'clone', step: 0, total: 1, message: `Fetching ${recorded}${ref ? ` at ${ref}` : ''}` });
  const clone = await cloneRepository(deps.paths.staging, url, recorded, ref, ctx.signal);
  try {
    await recordProvenance(clone.dir, clone.repository, clone.commit);
    // The clone is this process's own folder: the build takes it with the user's reach.
    const built = await deps.build({ dir: clone.dir }, local);
    const publish = await deps.publish({ name: built.name, visibility: req.visibility }, local);
    return { repository: clone.repository, commit: clone.commit, name: built.name, publish };
  } finally {
    await clone.remove();
  }
}

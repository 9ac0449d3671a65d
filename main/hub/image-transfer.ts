// Images to and from the hub's registry through the Docker engine (dockerode), with a registry token
// the hub signed for exactly this repository and these actions: Docker sends it as it is, so the
// password never reaches the engine. Pulls go by digest, and the digest is checked on arrival.
import type Docker from 'dockerode';
import { DlhubError, ServiceError } from '../errors.js';
import type { ProgressEvent } from '../contract/schemas.js';
import { DIGEST_RE } from '../storage/path-safety.js';

/** A digest as the hub and registry give it: `sha256:` and 64 hex digits, nothing else (one rule, in path-safety). */
export { DIGEST_RE };

interface DockerEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Digest?: string; Tag?: string; Size?: number };
}

/** Sum per-layer byte counts into one progress event stream. */
function layerProgress(phase: string, onProgress: ((e: ProgressEvent) => void) | undefined): (e: DockerEvent) => void {
  const layers = new Map<string, { current: number; total: number }>();
  let lastSent = 0;
  return (e) => {
    if (!onProgress || !e.id) return;
    const d = e.progressDetail;
    const was = layers.get(e.id) ?? { current: 0, total: 0 };
    if (d?.total) layers.set(e.id, { current: d.current ?? 0, total: d.total });
    else if (e.status && /^(Pushed|Layer already exists|Pull complete|Already exists|Download complete)/.test(e.status)) layers.set(e.id, { current: was.total, total: was.total });
    else if (!layers.has(e.id)) layers.set(e.id, was);
    const now = Date.now();
    // A push of a large image sends thousands of events: a few a second are enough for a bar.
    if (now - lastSent < 100 && !/^(Pushed|Pull complete)/.test(e.status ?? '')) return;
    lastSent = now;
    let current = 0;
    let total = 0;
    for (const l of layers.values()) {
      current += l.current;
      total += l.total;
    }
    const done = [...layers.values()].filter((l) => l.total > 0 && l.current >= l.total).length;
    onProgress({ phase, step: current, total: Math.max(total, current), message: `${done}/${layers.size} layers` });
  };
}

/** An engine or registry complaint as a typed error: unreachable and server trouble are worth retrying, refusals are not. */
export function registryError(what: string, message: string): DlhubError {
  const m = message.toLowerCase();
  if (/unauthorized|authentication required|denied|forbidden/.test(m)) {
    return new ServiceError(m.includes('denied') || m.includes('forbidden') ? 'FORBIDDEN' : 'UNAUTHORIZED', `The registry refused the ${what}: ${message}`, {
      hint: 'Sign in again with `dlhub login`; only the owner may push to OWNER/NAME, and only those the servable is shared with may pull it.',
    });
  }
  if (/verification failed|digest mismatch|did not match (the )?(expected )?digest/.test(m)) {
    // The engine checks every manifest, config and layer against its digest and keeps none that fails.
    return new ServiceError('CONFLICT', `The image for the ${what} is not what its digest says; the engine kept none of it: ${message}`, {
      hint: 'Something between here and the registry changed the content, or the registry holds damaged data: do not retry blindly, tell the hub\'s administrator.',
    });
  }
  if (/manifest unknown|not found|does not exist/.test(m)) {
    return new DlhubError('NOT_FOUND', `The registry has no such image for the ${what}: ${message}`, { hint: 'The hub\'s record names an image its registry does not hold; ask the owner to publish again.' });
  }
  return new ServiceError('SERVICE_UNAVAILABLE', `The ${what} could not reach the registry, or the connection broke off: ${message}`, {
    hint: what === 'pull'
      ? 'Nothing of it was kept; run the same `dlhub pull` again when the registry answers.'
      : 'The work waits in the outbox (`dlhub outbox`) and is retried when the registry answers.',
  });
}

/** Follow a Docker progress stream to its end; rejects with the first error event. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: DockerEvent) => void, what: string): Promise<DockerEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: DockerEvent[]) => {
      if (err) return reject(registryError(what, err.message));
      const failed = events.find((e) => e.error);
      if (failed) return reject(registryError(what, failed.errorDetail?.message ?? failed.error ?? 'unknown'));
      resolve(events);
    }, onEvent);
  });
}

function engineError(what: string, err: unknown): DlhubError {
  if (err instanceof DlhubError) return err;
  const e = err as { statusCode?: number; message?: string; json?: { message?: string } };
  const message = e.json?.message ?? e.message ?? String(err);
  if (e.statusCode === 404) return new DlhubError('SERVABLE_NOT_FOUND', `The image for the ${what} is not in the Docker engine: ${message}`, { hint: 'Build the servable again with `dlhub build DIR`.' });
  return registryError(what, message);
}

/** Push `localRef` to `registry/repository:tag` with a registry token; answers the manifest digest. */
export async function pushImage(docker: Docker, o: { localRef: string; registry: string; repository: string; tag: string; token: string; onProgress?: ((e: ProgressEvent) => void) | undefined; signal?: AbortSignal | undefined }): Promise<string> {
  const remote = `${o.registry}/${o.repository}`;
  try {
    await docker.getImage(o.localRef).tag({ repo: remote, tag: o.tag });
    const stream = (await docker.getImage(`${remote}:${o.tag}`).push({ authconfig: { registrytoken: o.token }, ...(o.signal ? { abortSignal: o.signal } : {}) }));
    const events = await follow(docker, stream, layerProgress('push', o.onProgress), 'push');
    const digest = events.map((e) => e.aux?.Digest).find((d) => d !== undefined)
      ?? events.map((e) => /digest: (sha256:[0-9a-f]{64})/.exec(e.status ?? '')?.[1]).find((d) => d !== undefined);
    if (!digest || !DIGEST_RE.test(digest)) throw new ServiceError('SERVICE_UNAVAILABLE', 'The registry took the image but named no digest for it.', { hint: 'Publish again; the registry may be misconfigured.' });
    return digest;
  } catch (err) {
    throw engineError('push', err);
  } finally {
    // The registry-named tag was only the push's handle: the image keeps its own tags.
    await docker.getImage(`${remote}:${o.tag}`).remove({ noprune: true }).catch(() => undefined);
  }
}

/** Pull `registry/repository@digest` with a registry token, check it arrived under that digest, and answer its image id. */
export async function pullImage(docker: Docker, o: { registry: string; repository: string; digest: string; token: string; onProgress?: ((e: ProgressEvent) => void) | undefined; signal?: AbortSignal | undefined }): Promise<string> {
  if (!DIGEST_RE.test(o.digest)) throw new DlhubError('INPUT_INVALID', `"${o.digest}" is not an image digest (sha256: and 64 hex digits).`, { hint: 'The hub\'s record is damaged; ask its owner to publish again.' });
  const ref = `${o.registry}/${o.repository}@${o.digest}`;
  try {
    const stream = (await docker.createImage({ fromImage: ref, authconfig: { registrytoken: o.token }, ...(o.signal ? { abortSignal: o.signal } : {}) }));
    await follow(docker, stream, layerProgress('pull', o.onProgress), 'pull');
    const info = (await docker.getImage(ref).inspect()) as { Id: string; RepoDigests?: string[] | null };
    // The engine checks content against the digest it pulled by; this makes sure it was that digest it pulled.
    if (!(info.RepoDigests ?? []).includes(ref)) {
      await docker.getImage(info.Id).remove({ force: true }).catch(() => undefined);
      throw new ServiceError('CONFLICT', `The image pulled for ${o.repository} is not ${o.digest}; it was removed.`, { hint: 'The registry holds other content than the hub recorded: do not use it, and tell the hub\'s administrator.' });
    }
    return info.Id;
  } catch (err) {
    throw engineError('pull', err);
  }
}

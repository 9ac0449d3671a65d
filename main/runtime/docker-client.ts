import { createRequire } from 'node:module';
import type Docker from 'dockerode';

// dockerode (with docker-modem, ssh2, gRPC and protobufjs) costs ~200 ms of start-up, so it is required on first
// use: a fresh `dlhub run` answered from the memo cache, or a `dlhub search`, never loads it.
const requireCjs = createRequire(import.meta.url);

const PING_TIMEOUT_MS = 1500;
// A successful ping is trusted this long, so runs do not pay a round trip each.
const PING_CACHE_MS = 5000;

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

/** Resolve with `p`, or reject after `ms`; the timer never keeps the process alive. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The one Docker engine client of a process: the dockerode handle, a cached ping, and the image
 * queries the runtime, the packager and the API share.
 */
export class DockerClient {
  private handle: Docker | undefined;
  private pingOkUntil = 0;

  constructor(api?: Docker) {
    this.handle = api;
  }

  /** The dockerode handle, for the packager's build and the runtime's containers; dockerode loads on first use. */
  get api(): Docker {
    if (!this.handle) {
      const DockerClass = requireCjs('dockerode') as typeof Docker;
      this.handle = new DockerClass();
    }
    return this.handle;
  }

  /** Does the engine answer a ping within 1.5 s? A success is trusted for 5 s. Never throws. */
  async available(): Promise<boolean> {
    if (Date.now() < this.pingOkUntil) return true;
    try {
      await within(this.api.ping() as Promise<unknown>, PING_TIMEOUT_MS, 'ping');
      this.pingOkUntil = Date.now() + PING_CACHE_MS;
      return true;
    } catch {
      return false;
    }
  }

  /** The engine's version (e.g. 20.10.24), or undefined when no engine answers within 1.5 s. Never throws. */
  async version(): Promise<string | undefined> {
    try {
      const info = await within<{ Version?: string }>(this.api.version(), PING_TIMEOUT_MS, 'version');
      this.pingOkUntil = Date.now() + PING_CACHE_MS;
      return info.Version ?? 'unknown';
    } catch {
      return undefined;
    }
  }

  /** The image's id, or undefined when the engine does not have it. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      const info = (await this.api.getImage(ref).inspect()) as { Id: string };
      return info.Id;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** The newest image of a repository (e.g. `dlhub-base`) as `repo:tag`, or undefined when there is none. */
  async newestImage(repository: string): Promise<string | undefined> {
    const found = await this.api.listImages({ filters: { reference: [repository] } });
    const tags = found
      .sort((a, b) => b.Created - a.Created)
      .flatMap((i) => i.RepoTags ?? [])
      .filter((t) => t.startsWith(`${repository}:`) && !t.endsWith(':<none>'));
    return tags[0];
  }

  /** Remove an image, or with `force: false` untag a name it has several of; false when it was already gone. */
  async removeImage(ref: string, opts: { force: boolean } = { force: true }): Promise<boolean> {
    try {
      await this.api.getImage(ref).remove({ force: opts.force });
      return true;
    } catch (err) {
      if (statusCode(err) === 404 || /no such image/i.test(err instanceof Error ? err.message : String(err))) return false;
      throw err;
    }
  }
}

import { RuntimeUnavailableError } from '../errors.js';
import type { LocalServable } from '../servable/registry.js';
import type { Runtime, RuntimeName } from './runtime.js';

/** The runtimes this process can use, built once in the composition root. */
export interface RuntimeSet {
  docker: Runtime | undefined;
  host: Runtime;
}

const PROBE_TTL_MS = 5000;
const probes = new WeakMap<Runtime, { at: number; up: Promise<boolean> }>();

/** Probe an engine at most every few seconds: a ping per call would cost more than the call. */
function dockerAnswers(runtime: Runtime): Promise<boolean> {
  const now = performance.now();
  const last = probes.get(runtime);
  if (last && now - last.at < PROBE_TTL_MS) return last.up;
  const up = runtime.available();
  probes.set(runtime, { at: now, up });
  return up;
}

/**
 * Pick the runtime for one call: the one asked for, else Docker when an engine answers and the
 * servable has an image, else the host's Python. Failing choices say what to do instead.
 */
export async function selectRuntime(set: RuntimeSet, servable: LocalServable, requested?: RuntimeName): Promise<Runtime> {
  if (requested === 'host') return set.host;
  if (requested === 'apptainer') {
    throw new RuntimeUnavailableError('The Apptainer runtime is not available in this version.', 'Use `--runtime docker` or `--runtime host`.');
  }
  const dockerUp = set.docker !== undefined && (await dockerAnswers(set.docker));
  if (requested === 'docker') {
    if (!dockerUp || !set.docker) {
      throw new RuntimeUnavailableError(
        'The Docker engine is not answering.',
        'Start Docker (or dockerd), or run on this machine\'s Python with `--runtime host`.',
      );
    }
    if (!servable.image) {
      throw new RuntimeUnavailableError(
        `Servable "${servable.name}" has no container image yet.`,
        `Build it with \`dlhub build ${servable.sourceDir}\` while Docker is running, or use \`--runtime host\`.`,
      );
    }
    return set.docker;
  }
  return dockerUp && set.docker && servable.image ? set.docker : set.host;
}

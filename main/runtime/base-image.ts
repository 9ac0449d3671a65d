import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerClient } from './docker-client.js';

/** The default base image, as DESIGN.md and the issue name it. */
export const DEFAULT_BASE_IMAGE = 'python:3.11-slim';
/** Repository of the base images resources/base-image/build.sh makes from Debian packages. */
export const LOCAL_BASE_REPOSITORY = 'dlhub-base';
/** File under DLHUB_HOME where scripts/setup.sh records the base image it built. */
export const BASE_IMAGE_FILE = 'base-image';

/** The base image a build uses, and, when it is not the one asked for by name, a sentence saying why. */
export interface BaseImageChoice {
  image: string;
  note: string | undefined;
}

function recorded(home: string): string | undefined {
  try {
    const text = readFileSync(join(home, BASE_IMAGE_FILE), 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Choose the base image, offline first: a named one (request, option, DLHUB_BASE_IMAGE) as is;
 * else the one setup recorded in DLHUB_HOME/base-image; else python:3.11-slim when the engine has
 * it; else the newest base image built here from Debian packages (dlhub-base:*), saying so; else
 * python:3.11-slim, to be pulled.
 */
export async function chooseBaseImage(client: DockerClient, home: string, named: string | undefined): Promise<BaseImageChoice> {
  if (named) return { image: named, note: undefined };
  const fromSetup = recorded(home);
  const up = await client.available();
  if (!up) return { image: fromSetup ?? DEFAULT_BASE_IMAGE, note: undefined };
  if (fromSetup && (await client.imageId(fromSetup))) {
    return { image: fromSetup, note: `Building on ${fromSetup}, the base image setup recorded in ${join(home, BASE_IMAGE_FILE)} (DLHUB_BASE_IMAGE changes it).` };
  }
  if (await client.imageId(DEFAULT_BASE_IMAGE)) return { image: DEFAULT_BASE_IMAGE, note: undefined };
  const local = await client.newestImage(LOCAL_BASE_REPOSITORY).catch(() => undefined);
  if (local) {
    return {
      image: local,
      note: `${DEFAULT_BASE_IMAGE} is not in Docker: building on ${local}, made here from Debian packages (DLHUB_BASE_IMAGE changes it).`,
    };
  }
  return { image: DEFAULT_BASE_IMAGE, note: undefined };
}

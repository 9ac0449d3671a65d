import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerClient } from './docker-client.js';

/** The default base image, as DESIGN.md and the issue name it. */
export const DEFAULT_BASE_IMAGE = 'python:3.11-slim';
/** The stable tag resources/base-image/build.sh gives the Debian-built base image it made last. */
export const LOCAL_BASE_IMAGE = 'dlhub-base:latest';
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
 * it; else the base image built here from Debian packages (dlhub-base:latest), saying so; else
 * python:3.11-slim, to be pulled.
 */
export async function chooseBaseImage(client: DockerClient, home: string, named: string | undefined): Promise<BaseImageChoice> {
  if (named) return { image: named, note: undefined };
  const fromSetup = recorded(home);
  const up = await client.available();
  if (!up) return { image: fromSetup ?? DEFAULT_BASE_IMAGE, note: undefined };
  if (fromSetup && (await client.imageId(fromSetup))) {
    return { image: fromSetup, note: `Using base image ${fromSetup}, recorded by setup in ${join(home, BASE_IMAGE_FILE)} (set DLHUB_BASE_IMAGE to choose another).` };
  }
  if (await client.imageId(DEFAULT_BASE_IMAGE)) return { image: DEFAULT_BASE_IMAGE, note: undefined };
  if (await client.imageId(LOCAL_BASE_IMAGE)) {
    return {
      image: LOCAL_BASE_IMAGE,
      note: `${DEFAULT_BASE_IMAGE} is not in the Docker engine; using the base image built here from Debian packages, ${LOCAL_BASE_IMAGE} (set DLHUB_BASE_IMAGE to choose another).`,
    };
  }
  return { image: DEFAULT_BASE_IMAGE, note: undefined };
}

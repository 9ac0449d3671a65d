// The pip setting: where a network (or a folder of wheels) allows, pip installs the pinned versions
// a servable declares instead of the Debian packages' versions. Off by default, because a machine
// with no network must build the same image every time and nothing may reach out unasked.
import { lstatSync, readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { BuildError } from '../errors.js';
import { IMAGE_PATHS } from './dockerfile.js';

/** What DLHUB_PIP, DLHUB_PIP_INDEX_URL and DLHUB_PIP_FIND_LINKS ask for. */
export interface PipSettings {
  /** DLHUB_PIP=1: ensure_deps.py may run pip for what the base image lacks. */
  enabled: boolean;
  /** DLHUB_PIP_INDEX_URL: a PEP 503 simple index (pip's --index-url); pip's own default (PyPI) when unset. */
  indexUrl: string | undefined;
  /** DLHUB_PIP_FIND_LINKS: a folder of wheels on this machine (copied into the image) or an http(s) page of links. */
  findLinks: string | undefined;
}

/** Files of a wheel folder that pip can install: wheels and source archives, nothing else. */
const DISTRIBUTION = /^[A-Za-z0-9][A-Za-z0-9._+-]*\.(?:whl|tar\.gz|zip)$/;
const HTTP_URL = /^https?:\/\/[^\s"'`$\\]+$/;

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Is `text` an http(s) address pip can be handed on its command line as it is? */
export function isHttpUrl(text: string): boolean {
  return text.length <= 2000 && HTTP_URL.test(text);
}

/** The pip setting from the environment; a malformed index address is refused here, before any build starts. */
export function pipSettings(env: NodeJS.ProcessEnv = process.env): PipSettings {
  const flag = setting(env, 'DLHUB_PIP')?.toLowerCase();
  const indexUrl = setting(env, 'DLHUB_PIP_INDEX_URL');
  const findLinks = setting(env, 'DLHUB_PIP_FIND_LINKS');
  if (indexUrl !== undefined && !isHttpUrl(indexUrl)) {
    throw new BuildError('BUILD_FAILED', `DLHUB_PIP_INDEX_URL ${JSON.stringify(indexUrl.slice(0, 100))} is not an http(s) address.`, {
      hint: 'Set it to a PEP 503 simple index such as http://172.17.0.1:8080/simple/ (reachable from a container), or unset it to use pip\'s default index.',
    });
  }
  return { enabled: flag === '1' || flag === 'true' || flag === 'yes', indexUrl, findLinks };
}

/** The distributions (wheels, sdists) of a local wheel folder, sorted; a missing or empty folder is an error that names it. */
export function wheelFolderFiles(folder: string): { dir: string; files: string[] } {
  const dir = isAbsolute(folder) ? folder : resolve(folder);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new BuildError('BUILD_FAILED', `DLHUB_PIP_FIND_LINKS names ${dir}, which is not a folder this program can read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}).`, {
      hint: 'Point DLHUB_PIP_FIND_LINKS at a folder of .whl files (e.g. made with `python3 -m pip wheel -w DIR PACKAGE==VERSION`), or at an http(s) page of links.',
      details: { findLinks: dir },
    });
  }
  // Plain files only: a link or a folder inside the wheel folder never reaches the build context.
  const files = names.filter((n) => DISTRIBUTION.test(n) && lstatSync(join(dir, n), { throwIfNoEntry: false })?.isFile() === true).sort();
  if (files.length === 0) {
    throw new BuildError('BUILD_FAILED', `The wheel folder ${dir} (DLHUB_PIP_FIND_LINKS) holds no .whl, .tar.gz or .zip files.`, {
      hint: 'Put the wheels of the pinned versions there (`python3 -m pip wheel -w DIR PACKAGE==VERSION` on a machine with a network), then build again.',
      details: { findLinks: dir },
    });
  }
  return { dir, files };
}

/** The pip part of requirements.json that ensure_deps.py reads: where pip looks, as the image sees it. */
export interface PipRequirements {
  indexUrl?: string;
  findLinks?: string;
  /** Shown in ensure_deps.py's messages: where the pins were looked for, in this machine's words. */
  source: string;
}

/** requirements.json's pip entry for these settings (a local wheel folder is read where the Dockerfile puts it). */
export function pipRequirements(pip: PipSettings, localWheels: boolean): PipRequirements {
  const out: PipRequirements = { source: '' };
  const where: string[] = [];
  if (pip.indexUrl !== undefined) {
    out.indexUrl = pip.indexUrl;
    where.push(`the package index ${pip.indexUrl} (DLHUB_PIP_INDEX_URL)`);
  }
  if (pip.findLinks !== undefined) {
    out.findLinks = localWheels ? IMAGE_PATHS.wheels : pip.findLinks;
    where.push(`the wheel folder ${pip.findLinks} (DLHUB_PIP_FIND_LINKS)`);
  }
  if (where.length === 0) where.push('pip\'s default index (PyPI; set DLHUB_PIP_INDEX_URL for another)');
  out.source = where.join(' and ');
  return out;
}

/** Does a build with these settings need a network? Only pip reaching an index or a links page does. */
export function buildNeedsNetwork(pip: PipSettings): boolean {
  if (!pip.enabled) return false;
  if (pip.indexUrl !== undefined) return true;
  // A local wheel folder alone means pip runs with --no-index: nothing leaves the machine.
  return pip.findLinks === undefined || isHttpUrl(pip.findLinks);
}

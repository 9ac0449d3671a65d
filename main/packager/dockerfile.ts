import { BuildError } from '../errors.js';
import { isServableName, isServableVersion, NAME_RULE, VERSION_RULE } from '../servable/names.js';

/** Everything the generated Dockerfile depends on; each value is validated before it is written. */
export interface DockerfileOptions {
  baseImage: string;
  name: string;
  version: string | undefined;
  /** The full metadata, stored compact in the `org.dlhub.metadata` label. */
  metadata: unknown;
  /** Pinned packages built with the base image's version (--accept-installed): the `org.dlhub.substitutions` label. */
  substitutions?: readonly { package: string; wanted: string; installed: string }[] | undefined;
  /** The context has a wheels/ folder (DLHUB_PIP_FIND_LINKS) that pip installs from. */
  wheels?: boolean | undefined;
  /** When given, adds the `org.dlhub.content-key` label (a sha256 hex digest). */
  contentKey?: string | undefined;
}

/** Where the context's folders land inside the image. */
export const IMAGE_PATHS = {
  root: '/opt/dlhub',
  runner: '/opt/dlhub/runner',
  servable: '/opt/dlhub/servable',
  requirements: '/opt/dlhub/runner/requirements.json',
  wheels: '/opt/dlhub/wheels',
} as const;

// An image reference: [registry[:port]/]path[:tag][@sha256:digest]; no whitespace, quotes or `$`.
const IMAGE_REF = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const HEX64 = /^[a-f0-9]{64}$/;

/** Reject a base image reference that is not a plain Docker image reference. */
export function checkImageRef(ref: string): string {
  if (ref.length > 255 || !IMAGE_REF.test(ref)) {
    throw new BuildError('BUILD_FAILED', `Base image reference ${JSON.stringify(ref)} is not a valid image reference.`, {
      hint: 'Use a reference such as python:3.11-slim or registry.example.org/team/base:1 (set DLHUB_BASE_IMAGE).',
    });
  }
  return ref;
}

/** Reject a servable name that cannot safely name a folder, an image and a label. */
export function checkName(name: string): string {
  if (!isServableName(name)) {
    throw new BuildError('BUILD_FAILED', `Servable name ${JSON.stringify(name)} does not follow the name rule: ${NAME_RULE}.`, {
      hint: 'Change dlhub.name in dlhub.json, e.g. "my-model".',
    });
  }
  return name;
}

/** Reject a version string with characters outside a version's usual alphabet. */
export function checkVersion(version: string): string {
  if (!isServableVersion(version)) {
    throw new BuildError('BUILD_FAILED', `Servable version ${JSON.stringify(version)} does not follow the version rule: ${VERSION_RULE}.`, {
      hint: 'Change dlhub.version in dlhub.json, e.g. "1.0.0".',
    });
  }
  return version;
}

/**
 * Quote a value as a Dockerfile double-quoted word that Docker reads back exactly. Docker
 * expands `$` inside double quotes and treats a backslash as its escape, so both are escaped; raw
 * control characters are refused so no value can start a new instruction.
 */
export function dockerQuote(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new BuildError('BUILD_FAILED', `Value ${JSON.stringify(value.slice(0, 60))} holds a control character and cannot go into a Dockerfile.`, {
      hint: 'Remove newlines and control characters from dlhub.json values that reach the image labels.',
    });
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '\\$')}"`;
}

/** Render the servable's Dockerfile; dependencies are installed before the files so edits reuse that layer. */
export function renderDockerfile(opts: DockerfileOptions): string {
  const base = checkImageRef(opts.baseImage);
  const labels = [
    `org.dlhub.name=${dockerQuote(checkName(opts.name))}`,
    `org.dlhub.version=${dockerQuote(opts.version === undefined ? '' : checkVersion(opts.version))}`,
    `org.dlhub.metadata=${dockerQuote(JSON.stringify(opts.metadata))}`,
  ];
  if (opts.substitutions !== undefined && opts.substitutions.length > 0) labels.push(`org.dlhub.substitutions=${dockerQuote(JSON.stringify(opts.substitutions))}`);
  if (opts.contentKey !== undefined) {
    if (!HEX64.test(opts.contentKey)) throw new BuildError('BUILD_FAILED', 'Content key must be a sha256 hex digest.', { hint: 'This is a bug in the packager; please report it.' });
    labels.push(`org.dlhub.content-key=${dockerQuote(opts.contentKey)}`);
  }
  return [
    `FROM ${base}`,
    `COPY runner/ ${IMAGE_PATHS.runner}/`,
    `COPY requirements.json ${IMAGE_PATHS.requirements}`,
    ...(opts.wheels === true ? [`COPY wheels/ ${IMAGE_PATHS.wheels}/`] : []),
    `RUN ["python3", "${IMAGE_PATHS.runner}/ensure_deps.py", "${IMAGE_PATHS.requirements}"]`,
    `COPY servable/ ${IMAGE_PATHS.servable}/`,
    `ENV DLHUB_SERVABLE_DIR=${IMAGE_PATHS.servable} PYTHONDONTWRITEBYTECODE=1`,
    `LABEL ${labels.join(' \\\n      ')}`,
    `CMD ["python3", "${IMAGE_PATHS.runner}/dlhub_runner.py"]`,
    '',
  ].join('\n');
}

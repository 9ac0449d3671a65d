/**
 * The one rule for servable names and versions. Schema validation (patched from these values at
 * load, and a test keeps schemas/dlhub.json equal to them), the packager (folder, image and label)
 * and registry lookups (run, describe, rm) all use it, so whatever `dlhub build` accepts the other
 * commands accept too. A name never starts with "." so it can never be "." or "..", and it has no
 * separator, so it is always one safe folder name.
 */
export const NAME_MAX_LENGTH = 64;
/** JSON Schema / RegExp source of a servable name. */
export const NAME_PATTERN = '^[a-z0-9_-][a-z0-9._-]*$';
export const VERSION_MAX_LENGTH = 128;
/** JSON Schema / RegExp source of a servable version. */
export const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]*$';

const NAME_RE = new RegExp(NAME_PATTERN);
const VERSION_RE = new RegExp(VERSION_PATTERN);

/** How to fix a bad name, for messages and the schema's `fix`. */
export const NAME_RULE = `lowercase letters, digits, "-", "_" or ".", not starting with a dot, at most ${NAME_MAX_LENGTH} characters, e.g. iris-classifier`;
/** How to fix a bad version. */
export const VERSION_RULE = `letters, digits, ".", "_", "+" or "-", starting with a letter or digit, at most ${VERSION_MAX_LENGTH} characters, e.g. 1.0.0`;

/** Does `name` follow the servable-name rule? */
export function isServableName(name: unknown): boolean {
  return typeof name === 'string' && name.length <= NAME_MAX_LENGTH && NAME_RE.test(name);
}

/** Does `version` follow the servable-version rule? */
export function isServableVersion(version: unknown): boolean {
  return typeof version === 'string' && version.length <= VERSION_MAX_LENGTH && VERSION_RE.test(version);
}

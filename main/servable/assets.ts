import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DlhubError } from '../errors.js';

let root: string | undefined;

/** Folder that holds schemas/ and resources/, found by walking up so it works from main/ (tsx, vitest) and dist/main/. */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'schemas', 'servable.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) {
      throw new DlhubError('RUNTIME_UNAVAILABLE', `schemas/servable.json was not found in any folder above ${fileURLToPath(import.meta.url)}.`, {
        hint: 'The installation is incomplete: reinstall DLHub Desktop or run it from its source folder.',
      });
    }
    dir = up;
  }
}

/** Absolute path of a file shipped with the project, e.g. assetPath('schemas', 'servable.json'). */
export function assetPath(...segments: string[]): string {
  return join(projectRoot(), ...segments);
}

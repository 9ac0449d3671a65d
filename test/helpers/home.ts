import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeHomeImageTags } from './home-images.js';

/**
 * A fresh temporary folder for one suite (a DLHUB_HOME, a model folder); `remove()` deletes it, with
 * the Docker image tags its homes' builds made.
 */
export function tempDir(prefix = 'dlhub-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    remove: () => {
      removeHomeImageTags(path);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

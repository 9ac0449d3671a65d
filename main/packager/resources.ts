import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from '../errors.js';

/** Files a runner folder must have (the whole folder is copied into every build context): the entry point, its package, the dependency check. */
export const RUNNER_FILES = ['dlhub_runner.py', 'dlhub_runner/main.py', 'ensure_deps.py'] as const;

/**
 * The project's resources/runner folder, found from this module whether it runs from source
 * (main/packager) or compiled (dist/main/packager); DLHUB_RUNNER_DIR overrides it.
 */
export function runnerResourcesDir(): string {
  const override = process.env['DLHUB_RUNNER_DIR'];
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'resources', 'runner');
    if (existsSync(join(candidate, 'dlhub_runner.py'))) return candidate;
    dir = dirname(dir);
  }
  throw new BuildError('BUILD_FAILED', 'Could not find resources/runner/dlhub_runner.py next to the installed program.', {
    hint: 'Reinstall DLHub Desktop, or set DLHUB_RUNNER_DIR to the folder holding dlhub_runner.py.',
  });
}

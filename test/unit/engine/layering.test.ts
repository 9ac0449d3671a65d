// The layering table in eslint.config.js refuses an import that goes up a layer, and main/ keeps to it.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');

describe('layering inside main/', () => {
  it('refuses an import from a lower layer into a higher one, naming what is allowed', async () => {
    const eslint = new ESLint({ cwd: root });
    const [up] = await eslint.lintText("import { Engine } from '../engine/engine.js';\nexport type E = Engine;\n", { filePath: join(root, 'main/runtime/registry.ts') });
    const [down] = await eslint.lintText("import { TaskError } from '../errors.js';\nexport const E = TaskError;\n", { filePath: join(root, 'main/runtime/registry.ts') });
    const layering = (r: ESLint.LintResult | undefined) => (r?.messages ?? []).filter((m) => m.ruleId === 'layering/allowed-imports');
    expect(layering(up).map((m) => m.message)).toEqual([expect.stringContaining('main/runtime may not import main/engine')]);
    expect(layering(down)).toEqual([]);
  }, 120_000);
});

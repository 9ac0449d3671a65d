// The contract loads in a browser: it type-checks with DOM and ES2022 alone (no Node types), and
// `npm run typecheck` checks it so. Types the errors module keeps for itself (it sits below the
// contract) stay the same shape as the contract's schemas.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ErrorBody, MetadataProblem } from '../../../main/contract/index.js';
import type { ErrorJSON, MetadataProblem as ErrorsMetadataProblem } from '../../../main/errors.js';

describe('the contract in a browser', () => {
  it('type-checks with DOM and ES2022 only, as part of npm run typecheck', async () => {
    const scripts = (JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['typecheck']).toContain('tsconfig.contract.json');
    const config = JSON.parse(readFileSync(resolve('tsconfig.contract.json'), 'utf8')) as { compilerOptions: { types: string[]; lib: string[] }; include: string[] };
    expect(config.compilerOptions.types).toEqual([]);
    expect(config.include).toContain('main/contract/**/*.ts');
    await expect(promisify(execFile)(resolve('node_modules/.bin/tsc'), ['-p', 'tsconfig.contract.json'])).resolves.toBeDefined();
  }, 120_000);

  it('keeps the errors module\'s wire shapes equal to the contract\'s', () => {
    expectTypeOf<ErrorBody>().toEqualTypeOf<ErrorJSON>();
    expectTypeOf<MetadataProblem>().toEqualTypeOf<ErrorsMetadataProblem>();
  });
});

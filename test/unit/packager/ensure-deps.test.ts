import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../resources/runner/ensure_deps.py', import.meta.url));
// Debian's Python has numpy 1.x and scikit-learn; with -S it sees no site packages and no pip.
const PYTHON = '/usr/bin/python3';
let tmp: string;

function ensure(python: Record<string, string | null>, flags: string[] = []): { status: number | null; out: string } {
  const file = join(tmp, 'requirements.json');
  writeFileSync(file, JSON.stringify({ python }));
  const r = spawnSync(PYTHON, [...flags, SCRIPT, file], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function satisfies(version: string, spec: string): boolean {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(join(SCRIPT, '..'))}); import ensure_deps; print(ensure_deps.satisfies(${JSON.stringify(version)}, ${JSON.stringify(spec)}))`;
  return spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' }).stdout.trim() === 'True';
}

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-deps-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('ensure_deps.py', () => {
  it('accepts packages the interpreter already has', () => {
    const r = ensure({ numpy: '>=1.20', 'scikit-learn': null });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/numpy \S+ is present/);
    expect(r.out).toMatch(/scikit-learn \S+ is present/);
  });

  it('fails naming the package and the base image when it is missing and there is no pip', () => {
    const r = ensure({ numpy: '>=1.20' }, ['-S']);
    expect(r.status).toBe(1);
    expect(r.out).toContain("Python package 'numpy' >=1.20");
    expect(r.out).toContain('not installed');
    expect(r.out).toContain('base image must provide it');
  });

  it('reads version specifiers the way pip does for common forms', () => {
    expect(satisfies('1.24.2', '>=1.20,<2')).toBe(true);
    expect(satisfies('1.24.2', '<1.20')).toBe(false);
    expect(satisfies('1.24.2', '1.24.2')).toBe(true);
    expect(satisfies('1.24.2', '0.22.2')).toBe(false);
    expect(satisfies('1.24.2', '==1.24.*')).toBe(true);
    expect(satisfies('1.25.0', '~=1.24')).toBe(true);
    expect(satisfies('2.0.0', '~=1.24')).toBe(false);
    expect(satisfies('1.24.2', '!=1.24.2')).toBe(false);
  });
});

import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeUnavailableError } from '../../../main/errors.js';
import { findPython } from '../../../main/servable/host-python.js';
import { removeWorkerSocket, workerSocketPath } from '../../../main/runtime/socket-path.js';

describe('workerSocketPath', () => {
  it('puts the socket in the run folder when the path fits', () => {
    expect(workerSocketPath('/home/u/.dlhub/run', 'abc')).toBe('/home/u/.dlhub/run/abc.sock');
  });

  it('falls back to a private temp folder when the path would pass the Unix socket limit', () => {
    const path = workerSocketPath(join('/home', 'x'.repeat(120), 'run'), 'abc');
    expect(Buffer.byteLength(path)).toBeLessThan(104);
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(existsSync(dirname(path))).toBe(true);
    removeWorkerSocket(path);
    expect(existsSync(dirname(path))).toBe(false);
  });
});

describe('findPython', () => {
  const saved = process.env['DLHUB_PYTHON'];
  const dirs: string[] = [];
  afterEach(() => {
    if (saved === undefined) delete process.env['DLHUB_PYTHON'];
    else process.env['DLHUB_PYTHON'] = saved;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('finds a host Python that has the required modules', async () => {
    delete process.env['DLHUB_PYTHON'];
    const found = await findPython(['sklearn']);
    expect(found.path).toMatch(/python3/);
    expect(found.version).toMatch(/^3\.\d+\.\d+$/);
  });

  it('names the missing modules and DLHUB_PYTHON when no interpreter has them', async () => {
    delete process.env['DLHUB_PYTHON'];
    const err = await findPython(['no_such_module_dlhub']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeUnavailableError);
    expect((err as Error).message).toContain('no_such_module_dlhub');
    expect((err as RuntimeUnavailableError).hint).toContain('DLHUB_PYTHON');
  });

  it('uses DLHUB_PYTHON, and fails clearly when it does not run', async () => {
    process.env['DLHUB_PYTHON'] = '/usr/bin/python3';
    expect((await findPython()).path).toMatch(/^\/usr\/bin\/python3/);
    const dir = mkdtempSync(join(tmpdir(), 'dlhub-py-'));
    dirs.push(dir);
    const broken = join(dir, 'python3');
    writeFileSync(broken, '#!/bin/sh\nexit 1\n');
    chmodSync(broken, 0o755);
    process.env['DLHUB_PYTHON'] = broken;
    const err = await findPython().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeUnavailableError);
    expect((err as Error).message).toContain(broken);
  });
});

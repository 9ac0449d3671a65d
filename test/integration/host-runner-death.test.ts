import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, WorkerError } from '../../main/errors.js';
import { HostRuntime } from '../../main/runtime/host.js';
import type { HostWorkerSpec } from '../../main/runtime/host.js';

// A host runner that dies mid-call is explained, and the hint names a log file that
// really holds its stderr; a too-deep input is refused before it reaches the shared worker.

const RUNNER_DIR = fileURLToPath(new URL('../../resources/runner', import.meta.url));
const APP = `
import os, sys

def crash(x):
    sys.stderr.write("model says: giving up on %r\\n" % (x,))
    sys.stderr.flush()
    os._exit(7)

def echo(x):
    return x
`;

describe('host runner deaths and hostile inputs', () => {
  let root: string;
  let runtime: HostRuntime;
  let spec: HostWorkerSpec;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dlhub-hostdeath-'));
    const dir = join(root, 'servable');
    const method = (name: string) => ({ input: { type: 'list' }, output: { type: 'list' }, method_details: { module: 'app', method_name: name } });
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.py'), APP);
    writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
      dlhub: { name: 'dies' },
      servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { crash: method('crash'), echo: method('echo') } },
    }));
    runtime = new HostRuntime({ runDir: join(root, 'run'), logDir: join(root, 'logs') });
    spec = { runtime: 'host', name: 'dies', servableDir: dir, runnerDir: RUNNER_DIR, python: '/usr/bin/python3' };
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('says how the runner exited, with its output, and points at the log file that has it', async () => {
    const worker = await runtime.start(spec);
    try {
      const err = await worker.connection.run('crash', 'the input').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerError);
      const e = err as WorkerError;
      expect(e.code).toBe('RUNNER_DIED');
      expect(e.message).toContain('exited with code 7');
      expect(e.message).toContain("model says: giving up on 'the input'");
      const logFile = join(root, 'logs', 'host-dies.log');
      expect(e.hint).toContain(logFile);
      expect(existsSync(logFile)).toBe(true);
      expect(readFileSync(logFile, 'utf8')).toContain("model says: giving up on 'the input'");
    } finally {
      await worker.stop();
    }
  });

  it('refuses a 1,500-level input with a typed error and keeps serving the next request', async () => {
    const worker = await runtime.start(spec);
    try {
      let deep: unknown = 1;
      for (let i = 0; i < 1500; i++) deep = [deep];
      const [refused, next] = await Promise.all([
        worker.connection.run('echo', deep).catch((e: unknown) => e),
        worker.connection.run('echo', ['unrelated']),
      ]);
      expect(refused).toBeInstanceOf(InputError);
      expect((refused as InputError).message).toContain('nested more than 100 levels');
      expect(next.output).toEqual(['unrelated']);
    } finally {
      await worker.stop();
    }
  });
});

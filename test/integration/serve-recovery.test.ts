// A `dlhub serve` killed with SIGKILL mid-task loses no task: the next `dlhub serve` runs the
// deterministic one again and marks the non-deterministic one failed with the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const BIN = resolve('bin/dlhub.js');
// Each step waits for what it can see, with a deadline a loaded machine meets.
const WAIT_MS = 60_000;

function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  return new Promise((res, rej) => {
    const deadline = Date.now() + WAIT_MS;
    const poll = (): void => {
      if (/listening/.test(log)) res({ child, log: () => log });
      else if (child.exitCode !== null || Date.now() > deadline) rej(new Error(`dlhub serve did not start:\n${log}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

/** A servable whose calls wait until the file `gate` exists (so a task stays running as long as the test needs), then answer 10x. */
function gatedServable(dir: string, name: string, deterministic: boolean, gate: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.py'), `import os, time\n\ndef slow(x):\n    while not os.path.exists(${JSON.stringify(gate)}):\n        time.sleep(0.05)\n    return x * 10\n`);
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: `Slow ${name}` }], creators: [{ creatorName: 'Test' }] },
    dlhub: { name, files: { other: ['app.py'] } },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic,
      methods: { run: { input: { type: 'number' }, output: { type: 'number' }, method_details: { module: 'app', method_name: 'slow', autobatch: false } } },
    },
  }));
  return dir;
}

interface Task { id: string; status: string; error?: { code: string; message: string }; result?: { output: unknown } }

describe('dlhub serve after a kill -9', () => {
  const work = tempDir('dlhub-recover-');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DLHUB_NO_SERVICE: '0' };
  const gate = join(work.dir, 'gate');
  afterAll(() => {
    // Opening the gate also lets the killed service's orphaned runners finish and exit.
    writeFileSync(gate, '');
    work.cleanup();
  });

  beforeAll(async () => {
    for (const [name, det] of [['slow-det', true], ['slow-nondet', false]] as const) {
      const built = await runCli(['build', gatedServable(join(work.dir, name), name, det, gate), '--runtime', 'host', '--json'], env);
      expect(built.code, built.stderr).toBe(0);
    }
  });

  it('runs the deterministic task again and fails the other with the reason', async () => {
    const first = await startServe(env);
    let second: { child: ChildProcess; log: () => string } | undefined;
    try {
      const det = json<Task>(await runCli(['submit', 'slow-det', '--input', '3', '--json'], env));
      const nondet = json<Task>(await runCli(['submit', 'slow-nondet', '--input', '3', '--json'], env));
      // Wait until both are running in the service (they wait at the gate), then kill it without a chance to clean up.
      await waitFor('both tasks to run in the service', async () => {
        const states = await Promise.all([det.id, nondet.id].map(async (id) => json<Task>(await runCli(['task', id, '--json'], env)).status));
        return states.every((s) => s === 'running');
      }, { timeoutMs: WAIT_MS, everyMs: 200 });
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('close', r));

      second = await startServe(env);
      // The service says so once it has taken the tasks over, just after it starts listening.
      const log = second.log;
      await waitFor('the service to report the tasks it took over', () => /resumed \d+ unfinished task/.test(log()), { timeoutMs: WAIT_MS });
      expect(second.log()).toMatch(/resumed 1 unfinished task/);
      writeFileSync(gate, '');
      const detDone = await runCli(['task', det.id, '--wait', '--json'], env);
      expect(json<Task>(detDone)).toMatchObject({ status: 'succeeded', result: { output: 30 } });
      const nondetDone = json<Task>(await runCli(['task', nondet.id, '--json'], env));
      expect(nondetDone.status).toBe('failed');
      expect(nondetDone.error?.message).toMatch(/not deterministic/);
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      if (second) await new Promise((r) => second!.child.once('close', r));
    }
  }, 5 * WAIT_MS);
});

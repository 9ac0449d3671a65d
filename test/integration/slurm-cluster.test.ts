// Batches through a real single-node Slurm cluster on this machine (test/helpers/slurm.ts): pilot
// jobs claim chunks from the spool, answers land in order and in the memo cache, and the faults a
// cluster brings (a pilot killed mid-chunk, a cancel, a time limit, a failing input) are survived.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { runOnCluster, type ClusterItem } from '../../main/cluster/batch.js';
import { clusterInfo } from '../../main/cluster/store.js';
import { jobEnds, liveJobs } from '../../main/cluster/slurm.js';
import { RuntimeRegistry } from '../../main/runtime/registry.js';
import { getLocal } from '../../main/servable/registry.js';
import { homePaths } from '../../main/storage/home.js';
import { json, runCli } from '../helpers/cli.js';
import { buildEngineServables } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';
import { startSlurm, type TestSlurm } from '../helpers/slurm.js';
import { waitFor } from '../helpers/wait.js';

const IRIS = resolve(import.meta.dirname, '../../examples/iris');
let tmp: { path: string; remove: () => void };
let home: string;
let slurm: TestSlurm;
let api: Dlhub;

/** Jobs Slurm has finished or holds (jobcomp file lines and the queue): none may be left running. */
function queue(): string[] {
  return execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function finishedJobs(): number {
  const file = join(tmp.path, 'slurm', 'jobcomp.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

function runners(): string[] {
  // The pilots and their runners (the `slow` servable runs only on the cluster here).
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('dlhub_pilot.py') || (l.includes('dlhub_runner.py') && l.includes(join(home, 'servables', 'slow'))));
}

async function spec(name: string): Promise<Awaited<ReturnType<ReturnType<RuntimeRegistry['get']>['workerSpec']>>> {
  const paths = homePaths(home);
  const registry = RuntimeRegistry.standard({ home, runDir: paths.run, logDir: paths.logs, defaults: { memoryBytes: 0, pidsLimit: 0 } });
  return registry.get('host').workerSpec(getLocal(paths, name), { memoryBytes: 0, pidsLimit: 0 });
}

beforeAll(async () => {
  tmp = tempDir('dlhub-slurm-');
  home = join(tmp.path, 'home');
  slurm = await startSlurm(join(tmp.path, 'slurm'));
  process.env['SLURM_CONF'] = slurm.conf;
  await buildEngineServables(home, join(tmp.path, 'src'), [['double', 'double'], ['slow', 'double']], { hostOnly: true });
  api = new Dlhub({ home });
  await api.buildServable({ dir: IRIS, runtime: 'host' });
  await api.addCluster({ name: 'local', scheduler: 'slurm' });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await slurm?.stop();
  tmp?.remove();
});

describe('batches on a local Slurm cluster', () => {
  it('dlhub run --batch --on answers the model\'s own predictions in order, into the memo cache', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => [[4.5 + (i % 30) / 10, 3.0, 1.0 + (i % 50) / 10, 0.2 + (i % 20) / 10]]);
    const file = join(tmp.path, 'iris.json');
    writeFileSync(file, JSON.stringify(rows));
    const env = { DLHUB_HOME: home, SLURM_CONF: slurm.conf };
    const listed = await runCli(['cluster', 'ls', '--json'], env);
    expect(listed.code, `${listed.stdout}\n${listed.stderr}`).toBe(0);
    const ls = json<{ cluster: { name: string }; report: { reachable: boolean; partitions: { name: string }[] } }[]>(listed);
    expect(ls[0]?.cluster.name).toBe('local');
    expect(ls[0]?.report.reachable).toBe(true);
    expect(ls[0]?.report.partitions.map((p) => p.name)).toEqual(['debug']);

    const local = json<{ output: unknown[] }>(await runCli(['run', 'iris', '--batch', file, '--runtime', 'host', '--no-cache', '--json'], env));
    const jobsBefore = finishedJobs() + queue().length;
    const remote = await runCli(['run', 'iris', '--batch', file, '--on', 'local', '--json'], env);
    expect(remote.code, remote.stderr).toBe(0);
    const answered = json<{ output: unknown[]; cached: boolean[] }>(remote);
    expect(answered.output).toEqual(local.output);
    expect(answered.cached.every((c) => !c)).toBe(true);
    await waitFor('the pilots to leave the queue', () => queue().length === 0, { timeoutMs: 20_000 });
    const jobsUsed = finishedJobs() - jobsBefore;
    expect(jobsUsed).toBeGreaterThan(0);

    // Answered again: every row is a memo hit, answered here; no job is submitted.
    const again = json<{ output: unknown[]; cached: boolean[] }>(await runCli(['run', 'iris', '--batch', file, '--on', 'local', '--json'], env));
    expect(again.output).toEqual(local.output);
    expect(again.cached.every(Boolean)).toBe(true);
    expect(finishedJobs() - jobsBefore).toBe(jobsUsed);
    expect(queue()).toEqual([]);
  }, 120_000);

  it('dlhub submit --on returns a task id that dlhub task follows', async () => {
    const env = { DLHUB_HOME: home, SLURM_CONF: slurm.conf };
    const submitted = await runCli(['submit', 'double', '--batch', '--input', '[1, 2, 3, 4, 5]', '--on', 'local', '--no-cache', '--json'], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = json<{ id: string }>(submitted).id;
    const task = json<{ status: string }>(await runCli(['task', id, '--wait', '--json'], env));
    expect(task.status).toBe('succeeded');
    const out = await api.getResult({ id, waitMs: 1000 });
    expect(out.output).toEqual([2, 4, 6, 8, 10]);
  }, 120_000);

  it('a failing input gets its error in its place; the rest are answered', async () => {
    const out = await api.runServable({ name: 'double', inputs: [1, -2, 3, 4, -5, 6], on: 'local', noCache: true });
    expect(out.output).toEqual([2, null, 6, 8, null, 12]);
    expect(out.errors?.map((e) => e?.code ?? null)).toEqual([null, 'MODEL_ERROR', null, null, 'MODEL_ERROR', null]);
    expect(out.errors?.[1]?.message).toContain('negative input');
  }, 120_000);

  it('a pilot killed mid-chunk: its chunk is redone, nothing is answered twice or lost', async () => {
    const cluster = clusterInfo(homePaths(home), { name: 'local', scheduler: 'slurm' });
    const inputs = Array.from({ length: 8 }, (_, i) => ({ s: 0.6 + i / 100 }));
    const seen: number[] = [];
    const outputs: unknown[] = [];
    let killed = '';
    const killer = (async () => {
      // Kill the pilot holding the first chunk claimed, while its runner is still answering it.
      const claim = await waitFor('a claimed chunk', () => {
        const dirs = existsSync(cluster.spool) ? readdirSync(cluster.spool) : [];
        for (const d of dirs) {
          const claimed = join(cluster.spool, d, 'claimed');
          const found = existsSync(claimed) ? readdirSync(claimed)[0] : undefined;
          if (found) return found;
        }
        return undefined;
      }, { timeoutMs: 30_000, everyMs: 20 });
      killed = claim.split('@')[1] ?? '';
      execFileSync('scancel', ['--signal=KILL', '--full', killed]);
    })();
    const stats = await runOnCluster({
      cluster, spec: await spec('slow'), method: 'run', inputs, gpus: 0, chunkItems: 1,
      onItems: (positions: number[], items: ClusterItem[]) => positions.forEach((p, j) => {
        seen.push(p);
        const item = items[j];
        outputs[p] = item?.ok ? item.output : item?.error.code;
      }),
    });
    await killer;
    expect(killed).toMatch(/^\d+_\d+$/);
    expect(stats.requeued).toBeGreaterThanOrEqual(1);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(outputs).toEqual(inputs.map((x) => x.s));
    await waitFor('every pilot job to be gone', async () => (await liveJobs(cluster, stats.jobs))?.size === 0, { timeoutMs: 20_000, everyMs: 200 });
  }, 120_000);

  it('a pilot that answers every chunk and leaves between two looks at the queue: all answered once, nothing put back or resubmitted', async () => {
    const cluster = clusterInfo(homePaths(home), { name: 'local', scheduler: 'slurm', pilots: 1 });
    const seen: number[] = [];
    const outputs: unknown[] = [];
    const stats = await runOnCluster({
      cluster, spec: await spec('double'), method: 'run', inputs: [1, 2, 3, 4, 5, 6], gpus: 0, chunkItems: 2,
      // The results are looked for at the start and then only after the pilot has answered and left (it
      // leaves 5 s after finding nothing to claim); the queue at every look.
      pollMs: 9_000, queueMs: 0,
      onItems: (positions, items) => positions.forEach((p, j) => {
        seen.push(p);
        const item = items[j];
        outputs[p] = item?.ok ? item.output : item?.error.code;
      }),
    });
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(outputs).toEqual([2, 4, 6, 8, 10, 12]);
    expect(stats.requeued).toBe(0);
    expect(stats.jobs).toHaveLength(1);
    expect(stats.ended).toEqual({});
    await waitFor('the pilot to leave the queue', async () => (await liveJobs(cluster, stats.jobs))?.size === 0, { timeoutMs: 30_000, everyMs: 200 });
  }, 120_000);

  it('sacct tells how jobs that left the queue ended: finished, failed with its exit code, cancelled', async () => {
    const script = (body: string): string => {
      const file = join(tmp.path, `job-${Math.random().toString(36).slice(2)}.sh`);
      writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return file;
    };
    const submit = (body: string): string => execFileSync('sbatch', ['--parsable', `--output=${join(tmp.path, '%j.out')}`, script(body)], { encoding: 'utf8' }).trim();
    const ok = submit('exit 0');
    const bad = submit('exit 3');
    const long = submit('sleep 300');
    const cluster = clusterInfo(homePaths(home), { name: 'local', scheduler: 'slurm' });
    await waitFor('the sleeping job to run', () => execFileSync('squeue', ['-h', '-o', '%T', `--jobs=${long}`], { encoding: 'utf8' }).trim() === 'RUNNING', { timeoutMs: 30_000, everyMs: 100 });
    execFileSync('scancel', [long]);
    const ends = await waitFor('all three in the completion log', async () => {
      const e = await jobEnds(cluster, [ok, bad, long]);
      return e && e.size === 3 ? e : undefined;
    }, { timeoutMs: 30_000, everyMs: 250 });
    expect(ends.get(ok)?.state).toBe('COMPLETED');
    expect(ends.get(bad)).toEqual({ state: 'FAILED', exitCode: '3:0' });
    expect(ends.get(long)?.state).toBe('CANCELLED');
  }, 120_000);

  it('dlhub cancel mid-batch leaves no job and no runner', async () => {
    const task = await api.submitTask({ name: 'slow', inputs: Array.from({ length: 12 }, (_, i) => ({ s: 1 + i / 100 })), on: 'local', noCache: true });
    await waitFor('a pilot running', () => queue().some((j) => /^\d+_\d+$/.test(j)) && runners().length > 0, { timeoutMs: 30_000, everyMs: 50 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; queue ${JSON.stringify(queue())}, runners ${runners().length}, task ${JSON.stringify(await api.getTask({ id: task.id }))}`);
    });
    // Forgetting the cluster now would leave its pilots with nobody to gather or cancel them: refused.
    await expect(api.removeCluster({ name: 'local' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('is answering 1 batch now') });
    expect((await api.listClusters()).map((c) => c.cluster.name)).toContain('local');
    await api.cancelTask({ id: task.id });
    await waitFor('the task to be cancelled', async () => (await api.getTask({ id: task.id })).status === 'cancelled', { timeoutMs: 30_000 });
    await waitFor('no job left', () => queue().length === 0, { timeoutMs: 30_000, everyMs: 100 });
    await waitFor('no runner left', () => runners().length === 0, { timeoutMs: 10_000, everyMs: 100 });
    const spool = clusterInfo(homePaths(home), { name: 'local', scheduler: 'slurm' }).spool;
    await waitFor('the batch\'s spool folder to be removed', () => readdirSync(spool).length === 0, { timeoutMs: 30_000, everyMs: 100 });
  }, 120_000);

  it('a job that hits its time limit fails its inputs with CLUSTER_FAILED, naming the time', async () => {
    const cluster = clusterInfo(homePaths(home), { name: 'short', scheduler: 'slurm', time: '0:20', pilots: 1 });
    const errors: string[] = [];
    const stats = await runOnCluster({
      cluster, spec: await spec('slow'), method: 'run', inputs: [{ s: 120 }], gpus: 0, maxAttempts: 1,
      onItems: (_p, items) => items.forEach((i) => errors.push(i.ok ? 'answered' : `${i.error.code}: ${i.error.message}`)),
    });
    expect(errors).toHaveLength(1);
    // sacct (here from the job completion log: this cluster keeps no accounting) tells how the pilot ended.
    expect(errors[0]).toMatch(/^CLUSTER_FAILED: .*ran out of time \(TIMEOUT\)/);
    expect(Object.values(stats.ended).map((e) => e.state)).toEqual(['TIMEOUT']);
    await waitFor('every pilot job to be gone', async () => (await liveJobs(cluster, stats.jobs))?.size === 0, { timeoutMs: 20_000, everyMs: 200 });
    await waitFor('no runner left', () => runners().length === 0, { timeoutMs: 10_000, everyMs: 100 });
  }, 180_000);
});

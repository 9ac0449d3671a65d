// The window's cluster, fit and batch state over fake `Ops`: the add-cluster form becomes exactly
// what `addCluster` accepts (or says which field to fix), a fit badge says in a few words what the
// engine's own reasons say, fit questions are asked once per record and a few at a time, and a batch
// is read one input per line, sent where the user chose, followed, and answered in order.
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterSpec, type ClusterReport, type DoctorReport, type FitReport, type RunOutcome, type ServableMetadata } from '../../../main/contract/index.js';
import { clusterFit } from '../../../main/cluster/fit.js';
import { fitReport } from '../../../main/runtime/hardware.js';
import type { Ops, TaskInfoValue } from '../../../renderer/src/client/ops.js';
import { FieldError, fieldFor } from '../../../renderer/src/lib/input-form.js';
import { batchRows, createBatchStore, parseBatch } from '../../../renderer/src/stores/batch.js';
import { ClusterFormError, clusterSpec, clusterSummary, createClustersStore, EMPTY_CLUSTER_FORM, type ClusterForm } from '../../../renderer/src/stores/clusters.js';
import { createFitStore, fitBadge, fitPlaces, shortReason } from '../../../renderer/src/stores/fit.js';

/** An Ops whose listed operations are the given fakes; any other call fails the test. */
function fakeOps(impl: Partial<Record<keyof Ops, (...a: never[]) => unknown>>): Ops {
  return new Proxy({} as Ops, { get: (_t, op: string) => impl[op as keyof Ops] ?? (() => Promise.reject(new Error(`unexpected call ${op}`))) });
}

const GB = 1024 ** 3;

/** A machine as doctor reports one: no GPU, 16 GB, 8 cores, the host runtime available. */
function machine(over: Partial<DoctorReport> = {}): DoctorReport {
  return {
    platform: 'linux x64', cpus: 8, memoryBytes: 16 * GB, memoryAvailableBytes: 12 * GB, disk: { path: '/home/me/.dlhub', freeBytes: 100 * GB, totalBytes: 500 * GB },
    gpus: [], gpuProbe: 'nvidia-smi is not installed', runtimes: [{ name: 'host', available: true }], clusters: [], ...over,
  } as DoctorReport;
}

function withResources(resources: Record<string, unknown>): ServableMetadata {
  return { dlhub: { name: 'm', resources }, servable: { methods: {} } } as unknown as ServableMetadata;
}

const form = (over: Partial<ClusterForm>): ClusterForm => ({ ...EMPTY_CLUSTER_FORM, ...over });

describe('the add-cluster form', () => {
  it('sends only what was given, trimmed, with GPUs and pilots as numbers', () => {
    expect(clusterSpec(form({ name: ' campus ' }))).toEqual({ name: 'campus', scheduler: 'slurm' });
    expect(clusterSpec(form({ name: 'hpc', partition: 'gpu', account: 'proj1', time: '1:00:00', gpus: '2', spool: '/scratch/me', ssh: 'me@login.hpc.edu', runtime: 'apptainer', pilots: '4' }))).toEqual({
      name: 'hpc', scheduler: 'slurm', partition: 'gpu', account: 'proj1', time: '1:00:00', gpus: 2, spool: '/scratch/me', ssh: 'me@login.hpc.edu', runtime: 'apptainer', pilots: 4,
    });
  });

  it('names the field to fix', () => {
    const field = (f: ClusterForm): string | undefined => {
      try {
        clusterSpec(f);
        return undefined;
      } catch (err) {
        return err instanceof ClusterFormError ? err.field : 'not a form error';
      }
    };
    expect(field(form({}))).toBe('name');
    expect(field(form({ name: 'has space' }))).toBe('name');
    expect(field(form({ name: 'a', gpus: '1.5' }))).toBe('gpus');
    expect(field(form({ name: 'a', gpus: '-1' }))).toBe('gpus');
    expect(field(form({ name: 'a', time: 'an hour' }))).toBe('time');
    expect(field(form({ name: 'a', ssh: 'login.hpc.edu' }))).toBe('ssh');
    expect(field(form({ name: 'a', runtime: 'kubernetes' }))).toBe('runtime');
    expect(field(form({ name: 'a', pilots: '0' }))).toBe('pilots');
  });

  it('whatever is typed, the form either names a field or gives what the contract accepts', () => {
    const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-z0-9@.:_-]{1,10}$/));
    fc.assert(fc.property(fc.record({ name: text, partition: text, account: text, time: text, gpus: text, spool: text, ssh: text, runtime: fc.constantFrom('', 'host', 'docker', 'apptainer', 'x'), pilots: text }), (f) => {
      let spec: ClusterSpec | undefined;
      try {
        spec = clusterSpec(f);
      } catch (err) {
        expect(err).toBeInstanceOf(ClusterFormError);
        return;
      }
      // Partition, account and spool patterns are the service's to check; everything the form vouches for is valid.
      const errors = [...Value.Errors(ClusterSpec, spec)].map((e) => e.path).filter((p) => !['/partition', '/account', '/spool'].includes(p));
      expect(errors).toEqual([]);
    }), { numRuns: 300 });
  });

  it('sums a cluster up in one line', () => {
    const up: ClusterReport = {
      name: 'local', scheduler: 'slurm', reachable: true, version: 'slurm-wlm 22.05.8',
      partitions: [
        { name: 'debug', default: true, state: 'up', nodes: 1, cpus: 2, cpusPerNode: 2, memoryBytesPerNode: 8 * GB, gpus: 0, gpusPerNode: 0, timeLimit: 'infinite' },
        { name: 'gpu', default: false, state: 'drain', nodes: 2, cpus: 64, cpusPerNode: 32, memoryBytesPerNode: 256 * GB, gpus: 8, gpusPerNode: 4, timeLimit: '1-00:00:00' },
      ],
    };
    expect(clusterSummary(up)).toBe('Answers (slurm-wlm 22.05.8): partitions debug (default), gpu drain; 3 nodes, 8 GPUs.');
    expect(clusterSummary({ name: 'x', scheduler: 'slurm', reachable: false, reason: 'sinfo: command not found', partitions: [] })).toBe('Not answering: sinfo: command not found.');
  });

  it('adds through addCluster and lists again; a form problem sends nothing', async () => {
    const added: ClusterSpec[] = [];
    let lists = 0;
    const store = createClustersStore(fakeOps({
      addCluster: ((spec: ClusterSpec) => {
        added.push(spec);
        return Promise.resolve({ ...spec, runtime: 'host', spool: '/s', pilots: 2, createdAt: 'now' });
      }),
      listClusters: () => {
        lists += 1;
        return Promise.resolve([]);
      },
    }));
    store.getState().setField('gpus', 'lots');
    store.getState().setField('name', 'campus');
    await store.getState().add();
    expect(store.getState().formError?.field).toBe('gpus');
    expect(added).toEqual([]);
    store.getState().setField('gpus', '1');
    expect(store.getState().formError).toBeUndefined();
    await store.getState().add();
    expect(added).toEqual([{ name: 'campus', scheduler: 'slurm', gpus: 1 }]);
    expect(store.getState().notice).toBe('Added cluster campus.');
    expect(store.getState().form).toEqual(EMPTY_CLUSTER_FORM);
    expect(lists).toBe(1);
  });
});

describe('the fit badge', () => {
  it('says in a few words what fit\'s own reasons say', () => {
    const here = (r: Record<string, unknown>, m = machine()): FitReport => fitReport('m', 'catalog', withResources(r), m);
    expect(fitBadge(here({ gpu: true })).label).toBe('Does not fit: no GPU');
    expect(fitBadge(here({ gpu: true })).title).toMatch(/needs a GPU/);
    const small = machine({ gpus: [{ index: 0, name: 'T4', memoryBytes: 4 * GB }] });
    expect(fitBadge(here({ gpu: true, gpu_memory_gb: 16 }, small)).label).toBe('Does not fit: GPU too small');
    expect(fitBadge(here({ memory_gb: 64, cpus: 32 })).label).toBe('Does not fit: not enough RAM, too few CPUs');
    expect(fitBadge(here({})).label).toBe('Fits here');
    expect(fitBadge(here({ gpu: true, cpu_fallback: true })).label).toBe('Fits here (CPU)');
    expect(fitBadge(here({ gpu: true }, machine({ gpus: [{ index: 0, name: 'H100', memoryBytes: 80 * GB }] }))).label).toBe('Fits here (GPU)');
    expect(shortReason('it wants a licence server; none is configured')).toBe('wants a licence server');
  });

  it('lists this machine, then each cluster with its partition', () => {
    const report = fitReport('m', 'local', withResources({ gpu: true }), machine());
    const cluster = clusterFit({ name: 'campus' }, {
      name: 'campus', scheduler: 'slurm', reachable: true,
      partitions: [{ name: 'debug', default: true, state: 'up', nodes: 1, cpus: 2, cpusPerNode: 2, memoryBytesPerNode: 8 * GB, gpus: 0, gpusPerNode: 0, timeLimit: 'infinite' }],
    }, { gpu: true });
    const places = fitPlaces({ ...report, targets: [...report.targets, cluster] });
    expect(places.map((p) => [p.where, p.cluster, p.fits])).toEqual([['This machine', undefined, false], ['Cluster campus (partition debug)', 'campus', false]]);
    expect(shortReason(places[1]?.reasons[0] ?? '')).toBe('no GPU');
  });

  it('asks once per name, a few at a time, only when wanted', async () => {
    const asked: string[] = [];
    let open = 0;
    let most = 0;
    const store = createFitStore(fakeOps({
      fitServable: (async (req: { name: string }) => {
        asked.push(req.name);
        open += 1;
        most = Math.max(most, open);
        await new Promise((r) => setTimeout(r, 5));
        open -= 1;
        return fitReport(req.name, 'catalog', withResources({}), machine());
      }),
    }), { parallel: 3 });
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
    for (const n of [...names, ...names]) store.getState().want(n);
    await new Promise((r) => setTimeout(r, 100));
    expect(asked.sort()).toEqual([...names].sort());
    expect(most).toBe(3);
    expect(Object.values(store.getState().entries).every((e) => e.state === 'known')).toBe(true);
  });
});

describe('a batch from the servable screen', () => {
  it('reads one input per line with the method\'s own field', () => {
    expect(parseBatch(fieldFor({ type: 'ndarray', shape: [null, 4] }), '5.1 3.5 1.4 0.2\n\n6.2,2.9,4.3,1.3\n')).toEqual([[[5.1, 3.5, 1.4, 0.2]], [[6.2, 2.9, 4.3, 1.3]]]);
    expect(parseBatch(fieldFor({ type: 'python object' }), '1\n{"s": 0.5}\n"text"')).toEqual([1, { s: 0.5 }, 'text']);
    expect(() => parseBatch(fieldFor({ type: 'float' }), '1\nabc')).toThrow(/^Line 2: "abc" is not a number/);
    expect(() => parseBatch(fieldFor({ type: 'float' }), '  \n')).toThrow(FieldError);
  });

  it('any JSON values, one per line, come back as themselves', () => {
    fc.assert(fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 20 }), (values) => {
      const lines = values.map((v) => JSON.stringify(v));
      expect(parseBatch(fieldFor({ type: 'python object' }), lines.join('\n'))).toEqual(lines.map((l) => JSON.parse(l) as unknown));
    }), { numRuns: 200 });
  });

  it('puts each answer beside its input, a failed one\'s error in its place', () => {
    const outcome = { servable: 'd', method: 'run', runtime: 'host', output: [2, null, 6], cached: [true, false, false], elapsedMs: 5, errors: [null, { code: 'MODEL_ERROR', message: 'negative' }, null] } as RunOutcome;
    expect(batchRows([1, -1, 3], outcome)).toEqual([
      { input: 1, output: 2, error: null, cached: true },
      { input: -1, output: null, error: { code: 'MODEL_ERROR', message: 'negative' }, cached: false },
      { input: 3, output: 6, error: null, cached: false },
    ]);
  });

  it('submits to the chosen cluster, follows the task and fetches its answers', async () => {
    const sent: unknown[] = [];
    let polls = 0;
    const task = (status: TaskInfoValue['status']): TaskInfoValue => ({ id: 't1', servable: 'doubler', status, batch: true, createdAt: 'now', restarts: 0, on: 'campus' });
    const store = createBatchStore(fakeOps({
      submitTask: ((req: unknown) => {
        sent.push(req);
        return Promise.resolve(task('pending'));
      }),
      getTask: () => Promise.resolve(task((polls += 1) < 3 ? 'running' : 'succeeded')),
      getResult: () => Promise.resolve({ servable: 'doubler', method: 'run', runtime: 'host', output: [2, 4], cached: [false, false], elapsedMs: 10 }),
    }), { pollMs: 1 });
    store.getState().setText('1\n2');
    store.getState().setOn('campus');
    await store.getState().submit('doubler', 'run', fieldFor({ type: 'python object' }));
    expect(sent).toEqual([{ name: 'doubler', method: 'run', inputs: [1, 2], on: 'campus' }]);
    expect(polls).toBe(3);
    expect(store.getState().task?.status).toBe('succeeded');
    expect(store.getState().outcome?.output).toEqual([2, 4]);
    store.getState().reset();
    expect(store.getState().task).toBeUndefined();
  });

  it('a line that cannot be read sends nothing and says which line', async () => {
    const store = createBatchStore(fakeOps({}));
    store.getState().setText('1\n2\nthree');
    await store.getState().submit('doubler', 'run', fieldFor({ type: 'integer' }));
    expect(store.getState().fieldError).toMatch(/^Line 3: /);
  });
});

// Reading sacct's job ends, sinfo's partitions (gres GPUs, "+" figures, lines merged by partition) and whether a
// servable's declared resources fit a cluster's partition.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterFit, pilotPartitions } from '../../../main/cluster/fit.js';
import { endText, gresGpus, parseSacct, parseSinfo } from '../../../main/cluster/slurm.js';
import type { ClusterReport } from '../../../main/contract/clusters.js';

const MIB = 1024 * 1024;

describe('sinfo partitions', () => {
  it('reads a default partition, a GPU partition split over two node kinds, and gres with types and sockets', () => {
    const text = [
      'debug*|up|4|32|128000|(null)|1-00:00:00',
      'gpu|up|2|64|512000+|gpu:a100:4(S:0-1)|2:00:00',
      'gpu|up|1|48|256000|gpu:v100:2,shard:8|2:00:00',
      '',
    ].join('\n');
    expect(parseSinfo(text)).toEqual([
      { name: 'debug', default: true, state: 'up', nodes: 4, cpus: 128, cpusPerNode: 32, memoryBytesPerNode: 128000 * MIB, gpus: 0, gpusPerNode: 0, timeLimit: '1-00:00:00' },
      { name: 'gpu', default: false, state: 'up', nodes: 3, cpus: 176, cpusPerNode: 64, memoryBytesPerNode: 512000 * MIB, gpus: 10, gpusPerNode: 4, timeLimit: '2:00:00' },
    ]);
  });

  it('counts GPUs of gres strings', () => {
    expect(gresGpus('(null)')).toBe(0);
    expect(gresGpus('gpu:2')).toBe(2);
    expect(gresGpus('gpu:tesla:2(S:0-1),gpu:k80:1')).toBe(3);
    expect(gresGpus('mps:100,gpu:1')).toBe(1);
  });

  it('never throws on any text, and gives only whole, non-negative figures', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), fc.array(fc.array(fc.string({ maxLength: 12 }), { minLength: 7, maxLength: 8 }), { maxLength: 6 }), (noise, rows) => {
      for (const text of [noise, rows.map((r) => r.join('|')).join('\n')]) {
        for (const p of parseSinfo(text)) {
          for (const n of [p.nodes, p.cpus, p.cpusPerNode, p.memoryBytesPerNode, p.gpus, p.gpusPerNode]) {
            expect(Number.isInteger(n) && n >= 0).toBe(true);
          }
          expect(p.name.length).toBeGreaterThan(0);
        }
      }
    }));
  });
});

const report = (partitions: string): ClusterReport => ({ name: 'c', scheduler: 'slurm', reachable: true, partitions: parseSinfo(partitions) });
const TWO = 'cpu*|up|8|16|64000|(null)|infinite\ngpu|up|2|32|256000|gpu:2|infinite\n';

describe('fit on a cluster', () => {
  it('pilots go to the partitions --partition names, else the default one', () => {
    expect(pilotPartitions({}, report(TWO)).map((p) => p.name)).toEqual(['cpu']);
    expect(pilotPartitions({ partition: 'gpu' }, report(TWO)).map((p) => p.name)).toEqual(['gpu']);
    expect(pilotPartitions({ partition: 'cpu,gpu' }, report(TWO)).map((p) => p.name)).toEqual(['cpu', 'gpu']);
  });

  it('a GPU servable fits the GPU partition, not the default CPU one, and not when it asks more GPUs than a node has', () => {
    expect(clusterFit({ name: 'c' }, report(TWO), { gpu: true })).toMatchObject({ fits: false, partition: 'cpu', reasons: ['it needs a GPU (dlhub.resources.gpu) and partition cpu has none'] });
    expect(clusterFit({ name: 'c', partition: 'gpu' }, report(TWO), { gpu: true })).toEqual({ where: 'cluster', cluster: 'c', fits: true, device: 'gpu', partition: 'gpu', reasons: [], notes: [] });
    expect(clusterFit({ name: 'c', partition: 'cpu,gpu' }, report(TWO), { gpu: true })).toMatchObject({ fits: true, partition: 'gpu' });
    expect(clusterFit({ name: 'c', partition: 'gpu', gpus: 3 }, report(TWO), { gpu: true }).reasons).toEqual(['its pilots ask for 3 GPUs (--gpus) and the nodes of partition gpu have at most 2']);
  });

  it('memory and CPUs are weighed per node; a down partition or an unknown name does not fit', () => {
    expect(clusterFit({ name: 'c' }, report(TWO), { memory_gb: 100 }).reasons[0]).toContain('needs 100 GB of RAM');
    expect(clusterFit({ name: 'c' }, report(TWO), { cpus: 17 }).reasons[0]).toContain('needs 17 CPU cores');
    expect(clusterFit({ name: 'c', partition: 'gpu' }, report(TWO), { memory_gb: 100, cpus: 17 }).fits).toBe(true);
    expect(clusterFit({ name: 'c' }, report('cpu*|down|8|16|64000|(null)|infinite'), {}).reasons).toEqual(['partition cpu is down']);
    expect(clusterFit({ name: 'c', partition: 'x' }, report(TWO), {}).reasons).toEqual(['sinfo lists no partition named x']);
    expect(clusterFit({ name: 'c' }, { name: 'c', scheduler: 'slurm', reachable: false, reason: 'ssh: connect refused', partitions: [] }, {}).reasons)
      .toEqual(['the cluster does not answer: ssh: connect refused']);
  });
});

describe('sacct job ends', () => {
  it('reads raw ids, states (dropping "by UID") and exit codes, and says each in words', () => {
    const ends = parseSacct('12|COMPLETED|0:0\n13|FAILED|3:0\n14|CANCELLED by 0|0:15\n15|TIMEOUT|0:0\n16|FAILED|0:9\n12_[3-4]|PENDING|0:0\n');
    expect([...ends.keys()]).toEqual(['12', '13', '14', '15', '16']);
    expect(ends.get('14')).toEqual({ state: 'CANCELLED', exitCode: '0:15' });
    expect(endText(ends.get('12'))).toBe('finished (COMPLETED)');
    expect(endText(ends.get('13'))).toBe('failed with exit code 3 (FAILED)');
    expect(endText(ends.get('14'))).toBe('was cancelled (CANCELLED)');
    expect(endText(ends.get('15'))).toBe('ran out of time (TIMEOUT)');
    expect(endText(ends.get('16'))).toBe('was killed by signal 9 (FAILED)');
    expect(endText(undefined)).toBe('ended (sacct did not say how)');
  });

  it('never throws on any text and keeps only numeric ids with upper-case states', () => {
    fc.assert(fc.property(fc.array(fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), { maxLength: 8 }), (rows) => {
      for (const [id, end] of parseSacct(rows.map((r) => r.join('|')).join('\n'))) {
        expect(id).toMatch(/^\d+$/);
        expect(end.state).toMatch(/^[A-Z_]+$/);
        expect(typeof endText(end)).toBe('string');
      }
    }));
  });
});

// Whether a servable's declared resources fit a cluster, read from what `doctor` learned of it (sinfo):
// the partition its pilots go to (the cluster's --partition, else the default one) must have nodes
// with the GPUs, RAM and CPUs it declares.
import type { ClusterInfo, ClusterPartition, ClusterReport } from '../contract/clusters.js';
import type { FitTarget } from '../contract/hardware.js';
import type { Resources } from '../contract/metadata.js';

const GB = 1e9;

/** The partitions a pilot of `cluster` may go to: those named by --partition, else the default one (else every one). */
export function pilotPartitions(cluster: Pick<ClusterInfo, 'partition'>, report: ClusterReport): ClusterPartition[] {
  if (cluster.partition) {
    const named = cluster.partition.split(',');
    return report.partitions.filter((p) => named.includes(p.name));
  }
  const defaults = report.partitions.filter((p) => p.default);
  return defaults.length > 0 ? defaults : report.partitions;
}

/** Why `resources` cannot run on one partition (empty when they can), and the device its model would use there. */
function partitionFit(p: ClusterPartition, r: Resources, gpusAsked: number): { reasons: string[]; notes: string[]; device: FitTarget['device'] } {
  const reasons: string[] = [];
  const notes: string[] = [];
  let device: FitTarget['device'] = 'cpu';
  if (!/^up/i.test(p.state)) reasons.push(`partition ${p.name} is ${p.state}`);
  if (r.gpu === true) {
    // Pilots of a GPU servable always ask Slurm for --gres=gpu:N, so a CPU fallback does not help here.
    if (p.gpusPerNode >= gpusAsked) {
      device = 'gpu';
      if (r.gpu_memory_gb !== undefined) notes.push(`sinfo does not say how much memory its GPUs have; it asks for ${r.gpu_memory_gb} GB`);
    } else {
      reasons.push(p.gpusPerNode === 0
        ? `it needs a GPU (dlhub.resources.gpu) and partition ${p.name} has none`
        : `its pilots ask for ${gpusAsked} GPUs (--gpus) and the nodes of partition ${p.name} have at most ${p.gpusPerNode}`);
    }
  }
  if (r.memory_gb !== undefined && p.memoryBytesPerNode > 0 && r.memory_gb * GB > p.memoryBytesPerNode) {
    reasons.push(`it needs ${r.memory_gb} GB of RAM; the largest node of partition ${p.name} has ${(p.memoryBytesPerNode / GB).toFixed(1)} GB`);
  }
  if (r.cpus !== undefined && p.cpusPerNode > 0 && r.cpus > p.cpusPerNode) {
    reasons.push(`it needs ${r.cpus} CPU cores; the largest node of partition ${p.name} has ${p.cpusPerNode}`);
  }
  return { reasons, notes, device };
}

/** Can a servable with `resources` run on `cluster` as `report` (from `doctor`) describes it, and if not, why. */
export function clusterFit(cluster: Pick<ClusterInfo, 'name' | 'partition' | 'gpus'>, report: ClusterReport, resources: Resources): FitTarget {
  const base = { where: 'cluster' as const, cluster: cluster.name };
  if (!report.reachable) {
    return { ...base, fits: false, device: 'cpu', reasons: [`the cluster does not answer: ${report.reason ?? 'sinfo failed'}`], notes: [] };
  }
  const candidates = pilotPartitions(cluster, report);
  if (candidates.length === 0) {
    const reason = cluster.partition ? `sinfo lists no partition named ${cluster.partition}` : 'sinfo lists no partition';
    return { ...base, fits: false, device: 'cpu', reasons: [reason], notes: [] };
  }
  // As the engine asks: a GPU servable's pilots get --gres=gpu:N with N the cluster's --gpus, at least 1.
  const gpusAsked = Math.max(1, cluster.gpus ?? 1);
  const judged = candidates.map((p) => ({ p, ...partitionFit(p, resources, gpusAsked) }));
  // The first partition that fits, preferring one where the model gets its GPU; else the first one's reasons.
  const best = judged.find((j) => j.reasons.length === 0 && j.device === 'gpu') ?? judged.find((j) => j.reasons.length === 0) ?? judged[0];
  if (!best) return { ...base, fits: false, device: 'cpu', reasons: ['sinfo lists no partition'], notes: [] };
  return { ...base, fits: best.reasons.length === 0, device: best.device, partition: best.p.name, reasons: best.reasons, notes: best.notes };
}

// Clusters a batch can be sent to (`dlhub cluster add`, `run --batch --on NAME`): how they are
// described on every door.
import { Type, type Static } from '@sinclair/typebox';
import { RuntimeName } from './runtimes.js';


/** A cluster's name: what `--on NAME` says. */
export const ClusterName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'a cluster added with `dlhub cluster add`' });

/** A cluster as `addCluster` takes it. */
export const ClusterSpec = Type.Object({
  name: ClusterName,
  scheduler: Type.Literal('slurm', { description: 'the batch scheduler (Slurm)' }),
  partition: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.,-]{1,128}$', description: 'sbatch --partition' })),
  account: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$', description: 'sbatch --account' })),
  time: Type.Optional(Type.String({ pattern: '^[0-9][0-9:-]{0,15}$', description: 'each pilot job\'s time limit, as sbatch --time takes it (e.g. 30, 1:00:00, 0:20)' })),
  gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: 'GPUs per pilot for a servable that declares one (--gres=gpu:N)' })),
  spool: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'a folder on the file system the cluster\'s nodes share with this machine' })),
  ssh: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$', description: 'USER@HOST to run the Slurm commands on (default: this machine)' })),
  runtime: Type.Optional(RuntimeName),
  pilots: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'pilot jobs per batch (default 2)' })),
}, { additionalProperties: false });
export type ClusterSpec = Static<typeof ClusterSpec>;

/** A cluster as stored and listed. */
export const ClusterInfo = Type.Object({
  ...ClusterSpec.properties,
  runtime: RuntimeName,
  spool: Type.String(),
  pilots: Type.Integer(),
  createdAt: Type.String(),
});
export type ClusterInfo = Static<typeof ClusterInfo>;

/** One partition of a cluster, as `sinfo` reports it (node figures are of its largest node). */
export const ClusterPartition = Type.Object({
  name: Type.String(),
  default: Type.Boolean({ description: 'jobs sent with no --partition go here' }),
  state: Type.String({ description: 'up, down, drain or inactive' }),
  nodes: Type.Integer(),
  cpus: Type.Integer({ description: 'CPU cores over all its nodes' }),
  cpusPerNode: Type.Integer({ description: 'CPU cores of its largest node' }),
  memoryBytesPerNode: Type.Number({ description: 'RAM of its largest node' }),
  gpus: Type.Integer({ description: 'GPUs (gres gpu) over all its nodes' }),
  gpusPerNode: Type.Integer({ description: 'GPUs of its best-equipped node' }),
  timeLimit: Type.String({ description: 'longest job it takes, as sinfo writes it ("infinite", "1-00:00:00")' }),
});
export type ClusterPartition = Static<typeof ClusterPartition>;

/** What `doctor` (and `listClusters`) learns of one cluster: does its scheduler answer, its version and partitions. */
export const ClusterReport = Type.Object({
  name: Type.String(),
  scheduler: Type.Literal('slurm'),
  reachable: Type.Boolean(),
  reason: Type.Optional(Type.String({ description: 'why it does not answer (when reachable is false)' })),
  version: Type.Optional(Type.String({ description: 'the scheduler\'s version, e.g. "slurm 22.05.8"' })),
  partitions: Type.Array(ClusterPartition, { description: 'every partition sinfo lists (a pilot goes to the cluster\'s --partition, else the default one)' }),
});
export type ClusterReport = Static<typeof ClusterReport>;

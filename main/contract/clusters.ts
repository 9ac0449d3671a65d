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

/** What `doctor` learns of one cluster. */
export const ClusterReport = Type.Object({
  name: Type.String(),
  reachable: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  partitions: Type.Array(Type.Object({ name: Type.String(), state: Type.String(), nodes: Type.Integer(), gpus: Type.Integer() })),
});
export type ClusterReport = Static<typeof ClusterReport>;

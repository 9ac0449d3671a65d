// What this machine offers (`doctor`) and whether a servable fits it (`fitServable`): wire types.
import { Type, type Static } from '@sinclair/typebox';
import { ClusterReport } from './clusters.js';
import { Resources } from './metadata.js';
import { RuntimeAvailability } from './runtimes.js';

/** One GPU as nvidia-smi reports it. */
export const GpuInfo = Type.Object({
  index: Type.Integer(),
  name: Type.String(),
  memoryBytes: Type.Number({ description: 'total GPU memory' }),
  memoryFreeBytes: Type.Optional(Type.Number()),
  driver: Type.Optional(Type.String()),
});
export type GpuInfo = Static<typeof GpuInfo>;

/** `doctor`: what this machine offers to servables. */
export const DoctorReport = Type.Object({
  platform: Type.String({ description: 'operating system and architecture, e.g. "linux x64"' }),
  cpus: Type.Integer({ description: 'CPU cores this process may use' }),
  memoryBytes: Type.Number({ description: 'total RAM' }),
  memoryAvailableBytes: Type.Number({ description: 'RAM available now' }),
  disk: Type.Object({ path: Type.String({ description: 'the DLHub home' }), freeBytes: Type.Number(), totalBytes: Type.Number() }),
  gpus: Type.Array(GpuInfo),
  gpuProbe: Type.String({ description: 'how GPUs were looked for, or why none were found' }),
  dockerGpu: Type.Optional(Type.Boolean({ description: 'the Docker engine has the NVIDIA runtime (containers can be given a GPU)' })),
  runtimes: Type.Array(RuntimeAvailability),
  clusters: Type.Array(ClusterReport, { description: 'the clusters added (`dlhub cluster add`): whether each answers now, its scheduler version and partitions' }),
});
export type DoctorReport = Static<typeof DoctorReport>;

/** Whether a servable fits one place it could run: this machine, or one cluster added. */
export const FitTarget = Type.Object({
  where: Type.Union([Type.Literal('here'), Type.Literal('cluster')], { description: 'this machine, or the cluster named in `cluster`' }),
  cluster: Type.Optional(Type.String({ description: 'the cluster\'s name (where is "cluster")' })),
  fits: Type.Boolean(),
  device: Type.Union([Type.Literal('gpu'), Type.Literal('cpu')], { description: 'where its model would run there' }),
  partition: Type.Optional(Type.String({ description: 'the partition its pilots would go to (clusters only)' })),
  reasons: Type.Array(Type.String(), { description: 'why it cannot run there (empty when it fits)' }),
  notes: Type.Array(Type.String(), { description: 'what is worth knowing although it fits' }),
});
export type FitTarget = Static<typeof FitTarget>;

/** `fitServable`: can a local or catalog servable run on this machine (fits, device, reasons, notes), and on each cluster (targets). */
export const FitReport = Type.Object({
  name: Type.String(),
  source: Type.Union([Type.Literal('local'), Type.Literal('catalog')], { description: 'built here, or known from the catalog only' }),
  fits: Type.Boolean(),
  device: Type.Union([Type.Literal('gpu'), Type.Literal('cpu')], { description: 'where its model would run here' }),
  reasons: Type.Array(Type.String(), { description: 'why it cannot run here (empty when it fits)' }),
  notes: Type.Array(Type.String(), { description: 'what is worth knowing although it fits (a CPU fallback, a framework image to build)' }),
  resources: Type.Optional(Resources),
  targets: Type.Array(FitTarget, { description: 'this machine first (the same answer as fits/device/reasons/notes), then each cluster added' }),
});
export type FitReport = Static<typeof FitReport>;

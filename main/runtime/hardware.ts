// What this machine offers servables (CPUs, RAM, disk, NVIDIA GPUs), whether a servable's declared
// resources fit it, and where a GPU servable's worker runs: on a GPU, on the CPU when it allows that,
// or nowhere, refused before anything starts.
import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, arch, freemem, platform, totalmem } from 'node:os';
import type Dockerode from 'dockerode';
import type { ClusterReport } from '../contract/clusters.js';
import type { DoctorReport, FitReport, GpuInfo } from '../contract/hardware.js';
import type { Resources, ServableMetadata } from '../contract/metadata.js';
import type { RuntimeAvailability } from '../contract/runtimes.js';
import { RuntimeUnavailableError } from '../errors.js';

const GB = 1e9;
const MIB = 1024 * 1024;

/** What probing for NVIDIA GPUs found. */
export interface GpuProbe {
  gpus: GpuInfo[];
  /** How they were looked for, or why none were found. */
  how: string;
}

function exec(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; missing: boolean; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: err === null, stdout, stderr, missing });
    });
  });
}

/** Parse `nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv,noheader,nounits` (MiB). */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 3) continue;
    const [index, name, total, free, driver] = cells;
    const i = Number(index);
    const t = Number(total);
    if (!Number.isInteger(i) || !Number.isFinite(t) || !name) continue;
    const f = Number(free);
    gpus.push({
      index: i, name, memoryBytes: t * MIB,
      ...(free !== undefined && free !== '' && Number.isFinite(f) ? { memoryFreeBytes: f * MIB } : {}),
      ...(driver ? { driver } : {}),
    });
  }
  return gpus;
}

let gpuCache: Promise<GpuProbe> | undefined;

/**
 * The NVIDIA GPUs nvidia-smi reports (DLHUB_NVIDIA_SMI names another program); none, with the reason,
 * where it is absent or fails. Cached for the process: GPUs do not come and go while it runs.
 */
export function probeGpus(fresh = false): Promise<GpuProbe> {
  if (gpuCache && !fresh) return gpuCache;
  const program = process.env['DLHUB_NVIDIA_SMI'] || 'nvidia-smi';
  gpuCache = exec(program, ['--query-gpu=index,name,memory.total,memory.free,driver_version', '--format=csv,noheader,nounits'], 10_000).then((r) => {
    if (r.missing) return { gpus: [], how: `${program} is not installed: no NVIDIA GPU (or driver) on this machine` };
    if (!r.ok) return { gpus: [], how: `${program} failed: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}` };
    const gpus = parseNvidiaSmi(r.stdout);
    return { gpus, how: gpus.length > 0 ? `${program} reports ${gpus.length} GPU${gpus.length === 1 ? '' : 's'}` : `${program} reports no GPU` };
  });
  return gpuCache;
}

async function availableMemory(): Promise<number> {
  // MemAvailable counts reclaimable cache, which os.freemem() leaves out.
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (m?.[1]) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

/** What this machine offers: CPUs, RAM, free disk under `home`, GPUs, the runtimes with their versions (and the clusters, as reported). */
export async function doctorReport(home: string, runtimes: RuntimeAvailability[], dockerGpu?: boolean, clusters: ClusterReport[] = []): Promise<DoctorReport> {
  const [gpu, disk, available] = await Promise.all([probeGpus(true), statfs(home), availableMemory()]);
  return {
    platform: `${platform()} ${arch()}`,
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    memoryAvailableBytes: available,
    disk: { path: home, freeBytes: disk.bavail * disk.bsize, totalBytes: disk.blocks * disk.bsize },
    gpus: gpu.gpus,
    gpuProbe: gpu.how,
    ...(dockerGpu === undefined ? {} : { dockerGpu }),
    runtimes,
    clusters,
  };
}

/** A servable's declared resources (dlhub.resources), or an empty record. */
export function declaredResources(metadata: ServableMetadata): Resources {
  return metadata.dlhub.resources ?? {};
}

function gb(bytes: number): string {
  return `${(bytes / GB).toFixed(1)} GB`;
}

/** Can the servable run on the machine `doctor` describes, and if not, why. */
export function fitReport(name: string, source: FitReport['source'], metadata: ServableMetadata, machine: DoctorReport): FitReport {
  const r = declaredResources(metadata);
  const reasons: string[] = [];
  const notes: string[] = [];
  let device: FitReport['device'] = 'cpu';
  if (r.gpu === true) {
    const wanted = r.gpu_memory_gb;
    const big = wanted === undefined ? machine.gpus : machine.gpus.filter((g) => g.memoryBytes >= wanted * GB);
    if (big.length > 0) {
      device = 'gpu';
      const docker = machine.runtimes.find((x) => x.name === 'docker');
      if (docker?.available && machine.dockerGpu === false) notes.push('the Docker engine has no NVIDIA runtime: a Docker worker cannot be given the GPU (install the NVIDIA Container Toolkit), the host runtime can use it');
    } else if (r.cpu_fallback === true) {
      notes.push(`it asks for a GPU${wanted === undefined ? '' : ` with ${wanted} GB`} and ${machine.gpus.length === 0 ? 'this machine has none' : 'none here is large enough'}: it runs on the CPU, which it allows (cpu_fallback), more slowly`);
    } else if (machine.gpus.length === 0) {
      reasons.push(`it needs a GPU (dlhub.resources.gpu) and this machine has none (${machine.gpuProbe})`);
    } else {
      reasons.push(`it needs a GPU with ${wanted ?? 0} GB of memory; the largest here has ${gb(Math.max(...machine.gpus.map((g) => g.memoryBytes)))}`);
    }
  }
  if (r.memory_gb !== undefined && r.memory_gb * GB > machine.memoryBytes) reasons.push(`it needs ${r.memory_gb} GB of RAM; this machine has ${gb(machine.memoryBytes)}`);
  if (r.cpus !== undefined && r.cpus > machine.cpus) reasons.push(`it needs ${r.cpus} CPU cores; this machine offers ${machine.cpus}`);
  if (!machine.runtimes.some((x) => x.available)) reasons.push(`no runtime can start workers here (${machine.runtimes.map((x) => `${x.name}: ${x.reason ?? 'unavailable'}`).join('; ')})`);
  const fits = reasons.length === 0;
  return {
    name, source, fits, device, reasons, notes, ...(metadata.dlhub.resources ? { resources: metadata.dlhub.resources } : {}),
    targets: [{ where: 'here', fits, device, reasons: [...reasons], notes: [...notes] }],
  };
}

/** Does the Docker engine have the NVIDIA runtime (so a container can be given a GPU)? undefined without an engine. */
export async function dockerHasGpuRuntime(docker: Dockerode | undefined): Promise<boolean | undefined> {
  if (!docker) return undefined;
  try {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    return Object.keys(info.Runtimes ?? {}).includes('nvidia');
  } catch {
    return undefined;
  }
}

/** The request Docker needs to give a container every GPU (the NVIDIA runtime serves it). */
export const GPU_DEVICE_REQUEST = { Driver: '', Count: -1, DeviceIDs: [] as string[], Capabilities: [['gpu']], Options: {} };

/**
 * Where a servable's worker runs: `gpu: true` when it asks for a GPU and this machine has one; the CPU
 * when it has none and the servable allows that (the runner says so in its hello). A servable that
 * needs a GPU on a machine without one is refused here, before any worker starts.
 */
export async function gpuPlacement(metadata: ServableMetadata): Promise<{ gpu: boolean }> {
  const r = declaredResources(metadata);
  if (r.gpu !== true) return { gpu: false };
  const probe = await probeGpus();
  if (probe.gpus.length > 0) return { gpu: true };
  if (r.cpu_fallback === true) return { gpu: false };
  throw new RuntimeUnavailableError(
    `Servable "${metadata.dlhub.name}" needs a GPU (dlhub.resources.gpu) and this machine has none: ${probe.how}.`,
    `Run it on a machine with an NVIDIA GPU, or set dlhub.resources.cpu_fallback to true in dlhub.json to let it run on the CPU; \`dlhub fit ${metadata.dlhub.name}\` says what this machine lacks.`,
  );
}

import type Dockerode from 'dockerode';

/** Where the per-worker host folder appears inside the container, and the socket in it. */
export const CONTAINER_RUN_DIR = '/run/dlhub';
export const CONTAINER_SOCKET = `${CONTAINER_RUN_DIR}/runner.sock`;

/** Labels every worker container carries, so orphans can be found and removed. */
export const LABELS = {
  worker: 'org.dlhub.worker',
  servable: 'org.dlhub.servable',
  ownerPid: 'org.dlhub.owner-pid',
  workerDir: 'org.dlhub.worker-dir',
} as const;

/**
 * The label naming the DLHub home that owns a worker container: orphan sweeps (and tests that count
 * containers) look only at their own home's containers, so two homes on one engine never disturb each other.
 */
export const HOME_LABEL = 'org.dlhub.home';

/**
 * Worker output kept by the engine: two files of 8 MiB at most per container, so a model that
 * writes without end cannot fill the host's disk (`docker logs` and the death report still read it).
 */
export const WORKER_LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '8m', 'max-file': '2' } } as const;

/** What one worker container needs. */
export interface ContainerPlan {
  image: string;
  servable: string;
  /** Host folder bound read-only to /run/dlhub (socket transport only). */
  hostDir: string | undefined;
  network: boolean;
  memoryBytes: number;
  pidsLimit: number;
  user: string;
  stdio: boolean;
}

/** The user the runner runs as: the host user, or nobody when the host runs as root. */
export function containerUser(): { user: string; chownTo: { uid: number; gid: number } | undefined } {
  const uid = process.getuid?.() ?? 65534;
  const gid = process.getgid?.() ?? 65534;
  // Never run a servable as root, even when the app itself does.
  if (uid === 0) return { user: '65534:65534', chownTo: { uid: 65534, gid: 65534 } };
  return { user: `${uid}:${gid}`, chownTo: undefined };
}

/** createContainer options for a locked-down worker: no network, read-only root, no capabilities. */
export function containerOptions(plan: ContainerPlan): Dockerode.ContainerCreateOptions {
  return {
    Image: plan.image,
    User: plan.user,
    Env: plan.stdio ? ['PYTHONUNBUFFERED=1'] : [`DLHUB_SOCKET=${CONTAINER_SOCKET}`, 'PYTHONUNBUFFERED=1'],
    Labels: {
      [LABELS.worker]: '1',
      [LABELS.servable]: plan.servable,
      [LABELS.ownerPid]: String(process.pid),
      ...(plan.hostDir ? { [LABELS.workerDir]: plan.hostDir } : {}),
    },
    // Stdio transport: frames travel over the attached stdin/stdout.
    AttachStdin: plan.stdio,
    AttachStdout: plan.stdio,
    AttachStderr: plan.stdio,
    OpenStdin: plan.stdio,
    StdinOnce: false,
    Tty: false,
    NetworkDisabled: !plan.network,
    HostConfig: {
      NetworkMode: plan.network ? 'bridge' : 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: plan.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: plan.memoryBytes,
      PidsLimit: plan.pidsLimit,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m' },
      // Read-only: the runner can still connect to the socket inside (connect() writes nothing to
      // the file system), but cannot fill the host's disk through this folder.
      Binds: plan.hostDir ? [`${plan.hostDir}:${CONTAINER_RUN_DIR}:ro`] : [],
      Init: false,
      LogConfig: { Type: WORKER_LOG_CONFIG.Type, Config: { ...WORKER_LOG_CONFIG.Config } },
    },
  };
}

// A batch answered on a cluster by pilot jobs. Compute nodes usually cannot reach a desktop, so
// nothing connects back: the batch is split into chunk files (each one request frame of the runner
// protocol) in a spool folder on the shared file system; an `sbatch --array` of pilots
// (resources/pilot/dlhub_pilot.py) each start one warm runner and claim chunks by atomic rename,
// writing each answer frame atomically. This side polls the results folder and squeue, puts back the
// chunks of pilots that died, resubmits pilots while chunks are left, and cancels every job when the
// caller leaves or the batch is answered.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterInfo } from '../contract/clusters.js';
import { InputError, ModelError, NotFoundError, TaskError, UsageError, WorkerError, type DlhubError } from '../errors.js';
import { isProcessAlive } from '../storage/process-alive.js';
import { runnerResourcesDir } from '../packager/resources.js';
import { apptainerCommand, ensureSif, execArgs, findApptainer } from '../runtime/apptainer.js';
import { decodeFrame, encodeFrame } from '../runtime/protocol/frame.js';
import { decodeValue, encodeResultFrame, encodeValue, extractValue } from '../runtime/protocol/values.js';
import type { WorkerSpec } from '../runtime/registry.js';
import type { WorkerSpecBase } from '../runtime/runtime.js';
import { cancelJobs, endText, jobEnds, liveJobs, submitArray, timeLimitSeconds, type JobEnd } from './slurm.js';

/** One input's answer, as the engine's pool gives it: the output and its stored frame, or the error. */
export type ClusterItem = { ok: true; output: unknown; raw: Buffer } | { ok: false; error: DlhubError };

/** One batch for a cluster. */
export interface ClusterCall {
  cluster: ClusterInfo;
  /** The worker spec of the cluster's runtime (what each pilot starts; its `runtime` tells which spec it is). */
  spec: WorkerSpecBase;
  method: string;
  inputs: unknown[];
  parameters?: Record<string, unknown> | undefined;
  /** GPUs per pilot (--gres=gpu:N); 0 for none. */
  gpus: number;
  signal?: AbortSignal | undefined;
  /** Called once per answered chunk with the positions (in `inputs`) and their answers; never twice for one input. */
  onItems: (positions: number[], items: ClusterItem[]) => void;
  /** Called before each answered chunk's `onItems` and after each submission: chunk files answered and written, job arrays submitted. */
  onChunks?: ((chunks: { done: number; total: number; jobs: number }) => void) | undefined;
  /** How many times a chunk may lose its pilot before its inputs fail (default 3). */
  maxAttempts?: number | undefined;
  /** Inputs per chunk (default: the batch spread over four chunks per pilot, 1..1000). */
  chunkItems?: number | undefined;
  /** How often the spool and the queue are looked at (default 100 ms and 1 s). */
  pollMs?: number | undefined;
  queueMs?: number | undefined;
}

/** What happened to a batch on the cluster (for progress and the bench). */
export interface ClusterRunStats {
  batchDir: string;
  chunks: number;
  jobs: string[];
  requeued: number;
  firstAnswerMs: number | undefined;
  /** How each pilot that left the queue holding a chunk ended (sacct), by its tag (ARRAY_TASK). */
  ended: Record<string, JobEnd>;
}

interface Chunk {
  positions: number[];
  attempts: number;
  /** How the pilots that held it and left ended, in words. */
  ends: string[];
}

// A referenced timer: while a batch waits on its pilots nothing else may keep a CLI process alive.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The pilot script shipped with the program (resources/pilot/dlhub_pilot.py). */
export function pilotScript(): string {
  return join(dirname(runnerResourcesDir()), 'pilot', 'dlhub_pilot.py');
}

/** The runner command a pilot starts for the cluster's runtime, talking frames on stdin/stdout. */
async function runnerCommand(base: WorkerSpecBase, batchId: string): Promise<{ command: string[]; env: Record<string, string>; stop?: string[]; cwd?: string }> {
  const spec = base as WorkerSpec;
  switch (spec.runtime) {
    case 'host':
      return {
        command: [spec.python ?? 'python3', join(spec.runnerDir, 'dlhub_runner.py')],
        env: { DLHUB_SERVABLE_DIR: spec.servableDir, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
        cwd: spec.servableDir,
      };
    case 'apptainer': {
      const app = await findApptainer();
      const path = 'path' in app ? app.path : apptainerCommand()[0] ?? 'apptainer';
      if (spec.source && !existsSync(spec.image)) await ensureSif(path, spec.image, spec.source);
      return { command: [path, ...execArgs({ image: spec.image, gpu: spec.gpu === true, network: spec.network === true, env: { PYTHONUNBUFFERED: '1' } })], env: {} };
    }
    case 'docker': {
      // `scancel` stops the job, not the container dockerd holds: the pilot removes it by name on TERM.
      const name = `dlhub-pilot-${batchId}-{tag}`;
      const args = ['run', '-i', '--rm', '--name', name, '--label', 'org.dlhub.worker=1', '--label', `org.dlhub.servable=${spec.name}`,
        '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65534:65534', '--tmpfs', '/tmp:rw,noexec,nosuid,size=64m',
        '--log-driver', 'none', '-e', 'PYTHONUNBUFFERED=1'];
      if (spec.network !== true) args.push('--network', 'none');
      if (spec.memoryBytes) args.push('--memory', String(spec.memoryBytes), '--memory-swap', String(spec.memoryBytes));
      if (spec.pidsLimit) args.push('--pids-limit', String(spec.pidsLimit));
      if (spec.gpu === true) args.push('--gpus', 'all');
      return { command: ['docker', ...args, spec.image], env: {}, stop: ['docker', 'rm', '-f', name] };
    }
  }
}

/** The error a runner answered for a whole chunk, as the typed error the engine's callers know. */
function wireError(e: { kind?: string; type?: string; message?: string; traceback?: string }, name: string): DlhubError {
  const message = e.message ?? 'no message';
  switch (e.kind) {
    case 'model':
      return new ModelError(e.type ?? 'Exception', message, e.traceback ?? '');
    case 'input':
      return new InputError('INPUT_INVALID', `Servable "${name}" rejected the input: ${message}`, { hint: 'Check the input against the method\'s declared type (`dlhub describe NAME`).' });
    case 'method':
      return new NotFoundError('METHOD_NOT_FOUND', `Servable "${name}": ${message}`, { hint: 'Choose one of the methods `dlhub describe NAME` lists.' });
    case 'load':
      return new WorkerError('RUNNER_DIED', `Servable "${name}" could not load its model on the cluster: ${message}`, { hint: 'Check that the servable\'s image or files are there on the cluster\'s nodes.' });
    default:
      return new WorkerError('PROTOCOL_ERROR', `The runner of "${name}" on the cluster answered: ${message}`, { hint: 'This is a bug in DLHub Desktop or its runner; please report it.' });
  }
}

function cancelled(): TaskError {
  return new TaskError('CANCELLED', 'The call was cancelled; its pilot jobs were cancelled too.', { hint: 'Run it again if you still need the answer.' });
}

/**
 * Answer `call.inputs` on the cluster: returns once every input has an answer or an error (each
 * handed to `onItems` as its chunk comes back), or throws CANCELLED when the signal aborts, after
 * cancelling every pilot job of the batch and removing its spool folder.
 */
export async function runOnCluster(call: ClusterCall): Promise<ClusterRunStats> {
  const started = performance.now();
  const { cluster } = call;
  const batchId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const dir = join(cluster.spool, batchId);
  for (const sub of ['todo', 'claimed', 'results', 'logs', 'pilots']) mkdirSync(join(dir, sub), { recursive: true });
  // Which process answers this batch: while it lives, the cluster is busy (`dlhub cluster rm` is refused).
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
  const stats: ClusterRunStats = { batchDir: dir, chunks: 0, jobs: [], requeued: 0, firstAnswerMs: undefined, ended: {} };
  const maxAttempts = call.maxAttempts ?? 3;
  const chunks = new Map<string, Chunk>();
  let seq = 0;
  const writeChunk = (positions: number[]): void => {
    const id = `c${String(seq++).padStart(7, '0')}`;
    const encoded = encodeValue(positions.map((p) => call.inputs[p]));
    const header = { id: seq, op: 'run', method: call.method, inputs: encoded.json, batch: true, ...(call.parameters ? { parameters: call.parameters } : {}) };
    const tmp = join(dir, `.${id}.tmp`);
    writeFileSync(tmp, encodeFrame(header, encoded.buffers));
    renameSync(tmp, join(dir, 'todo', id));
    chunks.set(id, { positions, attempts: 0, ends: [] });
  };
  // Chunks are written as the pilots need them, not all at once: a 100,000-row batch never has its
  // whole encoding in this process (nor on the spool). `nextAt` is the first input not yet in a chunk.
  let per = 1;
  let nextAt = 0;
  const unwritten = (): number => Math.ceil((call.inputs.length - nextAt) / per);
  // Chunk files written are `seq`; those not yet answered are in `chunks` (a chunk split into singles counts as answered).
  const chunkProgress = (): void => call.onChunks?.({ done: seq - chunks.size, total: seq + unwritten(), jobs: stats.jobs.length });
  /** Write chunks until `ahead` are waiting to be answered (or every input is in one). */
  const writeAhead = (ahead: number): void => {
    while (chunks.size < ahead && nextAt < call.inputs.length) {
      const at = nextAt;
      nextAt = Math.min(call.inputs.length, at + per);
      writeChunk(Array.from({ length: nextAt - at }, (_, k) => at + k));
    }
  };
  const settle = (chunk: Chunk, items: ClusterItem[]): void => {
    stats.firstAnswerMs ??= performance.now() - started;
    chunkProgress();
    call.onItems(chunk.positions, items);
  };

  try {
    const job = await runnerCommand(call.spec, batchId);
    const limit = timeLimitSeconds(cluster.time);
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ ...job, ...(limit ? { timeLimitSeconds: limit } : {}), idleExitSeconds: 5 }));
    copyFileSync(pilotScript(), join(dir, 'dlhub_pilot.py'));
    const script = join(dir, 'pilot.sh');
    writeFileSync(script, `#!/bin/sh\nexec python3 ${JSON.stringify(join(dir, 'dlhub_pilot.py'))} ${JSON.stringify(dir)}\n`, { mode: 0o755 });

    per = call.chunkItems ?? Math.min(1000, Math.max(1, Math.ceil(call.inputs.length / (cluster.pilots * 4))));
    stats.chunks = unwritten();
    // Enough waiting that no pilot idles between two looks at the results (each pilot holds one, and one more is ready).
    const ahead = cluster.pilots * 3;
    writeAhead(ahead);
    const submit = async (n: number): Promise<void> => {
      stats.jobs.push(await submitArray(cluster, { script, count: Math.min(cluster.pilots, n), name: `dlhub-${batchId}`, logDir: join(dir, 'logs'), gpus: call.gpus }));
      chunkProgress();
    };
    await submit(chunks.size + unwritten());

    let lastQueueCheck = performance.now();
    // Chunks answered when pilots were last submitted, and how many submissions in a row answered none.
    let answered = 0;
    let answeredSince = -1;
    let idleSubmits = 0;
    while (chunks.size > 0 || nextAt < call.inputs.length) {
      if (call.signal?.aborted) throw cancelled();
      writeAhead(ahead);
      let progressed = false;
      for (const name of readdirSync(join(dir, 'results'))) {
        if (name.startsWith('.')) continue;
        const file = join(dir, 'results', name);
        const chunk = chunks.get(name);
        if (chunk) {
          chunks.delete(name);
          progressed = true;
          answered += 1;
          absorb(readFileSync(file), chunk);
        }
        unlinkSync(file);
      }
      if (performance.now() - lastQueueCheck >= (call.queueMs ?? 1000)) {
        lastQueueCheck = performance.now();
        await checkPilots();
      }
      if (!progressed) await sleep(call.pollMs ?? 100);
    }
    return stats;

    function absorb(bytes: Buffer, chunk: Chunk): void {
      const frame = decodeFrame(bytes);
      if (frame.header['ok'] === true) {
        const json = frame.header['result'];
        if (!Array.isArray(json) || json.length !== chunk.positions.length) {
          const err = wireError({ message: `a chunk of ${chunk.positions.length} inputs came back with ${Array.isArray(json) ? json.length : 'no'} outputs` }, call.spec.name);
          settle(chunk, chunk.positions.map(() => ({ ok: false, error: err })));
          return;
        }
        const outputs = decodeValue(json, frame.buffers) as unknown[];
        settle(chunk, json.map((item, i) => {
          const one = extractValue(item, frame.buffers);
          return { ok: true as const, output: outputs[i], raw: encodeResultFrame(one.json, one.buffers) };
        }));
        return;
      }
      const error = (frame.header['error'] ?? {}) as { kind?: string };
      if ((error.kind === 'model' || error.kind === 'input') && chunk.positions.length > 1) {
        // One bad input fails the whole batch request: answer the chunk's inputs one by one, so only it fails.
        for (const p of chunk.positions) writeChunk([p]);
        return;
      }
      const err = wireError(error, call.spec.name);
      settle(chunk, chunk.positions.map(() => ({ ok: false, error: err })));
    }

    /** How the pilots `tags` ended (sacct, by the job id each left in pilots/), also kept in stats.ended. */
    async function endsOf(tags: string[]): Promise<Map<string, JobEnd>> {
      const raw = new Map<string, string>();
      for (const tag of tags) {
        try {
          raw.set(tag, readFileSync(join(dir, 'pilots', tag), 'utf8').trim());
        } catch {
          // It died before it could say (or it is an array's pending remainder).
        }
      }
      const byId = raw.size === 0 ? undefined : await jobEnds(cluster, [...raw.values()]);
      const ends = new Map<string, JobEnd>();
      for (const [tag, id] of raw) {
        const end = byId?.get(id);
        if (end) {
          ends.set(tag, end);
          stats.ended[tag] = end;
        }
      }
      return ends;
    }

    async function checkPilots(): Promise<void> {
      // Claims are read before the queue: a pilot that claims after squeue answered is not taken for dead.
      const claims = readdirSync(join(dir, 'claimed'));
      const live = await liveJobs(cluster, stats.jobs);
      if (!live) return;
      // A pilot that left the queue (squeue is the authority on that) while holding a chunk it did not
      // answer: sacct tells how it ended (finished, failed, out of time, cancelled), for the chunk's error.
      const dead = claims.map((claim) => {
        const [name = '', tag = ''] = claim.split('@');
        return { claim, name, tag, chunk: chunks.get(name) };
      }).filter((c) => c.chunk && !live.has(c.tag) && !existsSync(join(dir, 'results', c.name)));
      const ends = dead.length === 0 ? new Map<string, JobEnd>() : await endsOf([...new Set(dead.map((d) => d.tag))]);
      for (const { claim, name, tag, chunk } of dead) {
        if (!chunk) continue;
        // Its pilot is gone and left no answer: put the chunk back, or give up on it.
        chunk.attempts += 1;
        chunk.ends.push(endText(ends.get(tag)));
        if (chunk.attempts >= maxAttempts) {
          rmSync(join(dir, 'claimed', claim), { force: true });
          chunks.delete(name);
          const how = [...new Set(chunk.ends)].join('; ');
          const err = new WorkerError('CLUSTER_FAILED', `The pilot job answering inputs ${chunk.positions[0]}..${chunk.positions[chunk.positions.length - 1]} on cluster "${cluster.name}" ended ${chunk.attempts} time(s) before answering: it ${how}.`, {
            hint: `Read the pilots' logs in ${join(dir, 'logs')}; ${/TIMEOUT/.test(how) ? 'give the cluster a longer --time, or send smaller batches' : /OUT_OF_MEMORY/.test(how) ? 'the servable needs more memory than its pilot job was given' : 'check the cluster\'s nodes and the servable there'}.`,
            details: { cluster: cluster.name, ends: chunk.ends },
          });
          settle(chunk, chunk.positions.map(() => ({ ok: false, error: err })));
          continue;
        }
        try {
          renameSync(join(dir, 'claimed', claim), join(dir, 'todo', name));
          stats.requeued += 1;
        } catch {
          // Already put back, or answered in the meantime.
        }
      }
      const waiting = readdirSync(join(dir, 'todo')).filter((n) => !n.startsWith('.')).filter((n) => chunks.has(n));
      if (waiting.length === 0 || live.size > 0) return;
      if (answeredSince === answered && ++idleSubmits > maxAttempts) {
        // Pilots keep leaving without taking a chunk (a time limit too short to start one): stop trying.
        const tags = readdirSync(join(dir, 'pilots')).filter((n) => !n.startsWith('.'));
        // A pilot that never got as far as leaving its job id: the array's own id finds one of its elements.
        const ends = tags.length > 0 ? [...(await endsOf(tags)).values()] : [...((await jobEnds(cluster, stats.jobs)) ?? new Map<string, JobEnd>()).values()];
        const how = [...new Set(ends.map(endText))].join('; ');
        const err = new WorkerError('CLUSTER_FAILED', `Pilot jobs on cluster "${cluster.name}" ended ${idleSubmits} times without answering anything${how ? `: they ${how}` : ''}.`, {
          hint: `Read the pilots' logs in ${join(dir, 'logs')}; the cluster's --time may be too short to start the servable.`,
          details: { cluster: cluster.name, ends: ends.map(endText) },
        });
        for (const name of waiting) {
          const chunk = chunks.get(name);
          chunks.delete(name);
          if (chunk) settle(chunk, chunk.positions.map(() => ({ ok: false, error: err })));
        }
        // The inputs not yet written to a chunk fail alike.
        while (nextAt < call.inputs.length) {
          const at = nextAt;
          nextAt = Math.min(call.inputs.length, at + per);
          const positions = Array.from({ length: nextAt - at }, (_, k) => at + k);
          settle({ positions, attempts: 0, ends: [] }, positions.map(() => ({ ok: false, error: err })));
        }
        return;
      }
      if (answeredSince !== answered) idleSubmits = 0;
      answeredSince = answered;
      await submit(waiting.length + unwritten());
    }
  } finally {
    try {
      writeFileSync(join(dir, 'done'), '');
    } catch {
      // The folder is going anyway.
    }
    await cancelJobs(cluster, stats.jobs).catch(() => undefined);
    if (call.signal?.aborted) await waitGone(cluster, stats.jobs);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The batches a live process of this machine is answering on `cluster` now (from their spool folders' owner files). */
export function activeBatches(cluster: Pick<ClusterInfo, 'spool'>): { dir: string; pid: number }[] {
  let names: string[];
  try {
    names = readdirSync(cluster.spool);
  } catch {
    return [];
  }
  const active: { dir: string; pid: number }[] = [];
  for (const name of names) {
    const dir = join(cluster.spool, name);
    try {
      const { pid } = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as { pid?: unknown };
      // A folder left by a process that was killed is not a batch running.
      if (typeof pid === 'number' && !existsSync(join(dir, 'done')) && isProcessAlive(pid)) active.push({ dir, pid });
    } catch {
      // Not a batch folder, or one being removed.
    }
  }
  return active;
}

/**
 * Refuse to forget a cluster while a batch runs there: its pilots would go on with nobody to gather
 * their answers or cancel them. Cancelling for the caller is not done here on purpose: removing a
 * setting should never throw away a running batch's work; `dlhub cancel` says that explicitly.
 */
export function assertClusterIdle(cluster: Pick<ClusterInfo, 'name' | 'spool'>): void {
  const active = activeBatches(cluster);
  if (active.length === 0) return;
  throw new UsageError('CONFLICT', `Cluster "${cluster.name}" is answering ${active.length} batch${active.length === 1 ? '' : 'es'} now (process ${[...new Set(active.map((a) => a.pid))].join(', ')}); it was not removed.`, {
    hint: 'Cancel the batch (`dlhub cancel TASK_ID`, or Ctrl+C on `dlhub run --on`) or let it finish, then remove the cluster.',
    details: { cluster: cluster.name, batches: active.length },
  });
}

/** Wait (up to 30 s) until Slurm holds none of `jobs`, so a cancelled call leaves no job and no runner. */
async function waitGone(cluster: ClusterInfo, jobs: string[]): Promise<void> {
  const until = performance.now() + 30_000;
  while (performance.now() < until) {
    const live = await liveJobs(cluster, jobs);
    if (live && live.size === 0) return;
    await sleep(250);
  }
}

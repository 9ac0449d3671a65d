/**
 * What to tell the user when a worker dies mid-call: why it stopped (out of memory, a signal, an
 * exit code) and where its output is, instead of a bare "it closed the connection".
 */

/** Why a runner stopped, as the connection reports it: `why` ends the message, `hint` says what to do. */
export interface DeathReport {
  why: string;
  hint: string;
  details?: Record<string, unknown> | undefined;
}

/** How a worker container ended, read from the engine before the container is removed. */
export interface ContainerExit {
  exitCode: number | undefined;
  oomKilled: boolean;
  /** The container's memory limit in bytes (0 or undefined: none). */
  memoryBytes: number | undefined;
  /** The last lines the container wrote. */
  logs: string;
}

const MIB = 1024 * 1024;
const SIGKILL_EXIT = 137;

function mib(bytes: number): string {
  return `${Math.round((bytes / MIB) * 10) / 10} MiB`;
}

function outputSection(label: string, logs: string): string {
  return `\n--- ${label} ---\n${logs.trim() || '(no output)'}`;
}

/** Explain a container's exit: the out-of-memory kill by name, else the exit code, with its last output. */
export function describeContainerExit(exit: ContainerExit): DeathReport {
  const limit = exit.memoryBytes ? exit.memoryBytes : undefined;
  const details = { exitCode: exit.exitCode, oomKilled: exit.oomKilled, memoryBytes: limit, logs: exit.logs };
  if (exit.oomKilled) {
    return {
      why: `the worker ran out of memory (limit ${limit ? mib(limit) : 'none set'}); raise DLHUB_WORKER_MEMORY_BYTES${outputSection('last container output', exit.logs)}`,
      hint: `Set DLHUB_WORKER_MEMORY_BYTES above ${limit ?? 'the current limit'} bytes (e.g. ${limit ? limit * 2 : 4 * 1024 * MIB}) and run again, or send a smaller input.`,
      details,
    };
  }
  if (exit.exitCode === SIGKILL_EXIT) {
    // The engine does not always see the kernel's OOM kill (cgroup v2): a SIGKILL under a limit is the likely cause.
    return {
      why: `its container was killed (SIGKILL, exit code 137)${limit ? `; if nobody stopped it, the worker probably ran out of memory (limit ${mib(limit)}); raise DLHUB_WORKER_MEMORY_BYTES` : ''}${outputSection('last container output', exit.logs)}`,
      hint: limit
        ? `If the model needs more than ${mib(limit)}, set DLHUB_WORKER_MEMORY_BYTES higher (e.g. ${limit * 2}) and run again.`
        : 'Run it again to start a fresh worker.',
      details,
    };
  }
  return {
    why: `its container exited with code ${exit.exitCode ?? 'unknown'}${outputSection('last container output', exit.logs)}`,
    hint: 'Read the container output above (the container itself is removed); run it again to start a fresh worker.',
    details,
  };
}

/** How a host runner process ended. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
  /** The last lines it wrote. */
  output: string;
  /** The file that holds all of its output, when one is kept. */
  logFile: string | undefined;
}

/** Explain a host runner's exit, pointing at the log file that holds its stderr. */
export function describeProcessExit(exit: ProcessExit): DeathReport {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
  const memory = exit.signal === 'SIGKILL' ? ' (a SIGKILL nobody sent is usually the system running out of memory)' : '';
  const where = exit.logFile ? `Its full output is in ${exit.logFile}.` : 'Its output is shown above.';
  return {
    why: `the runner process ${how}${memory}${outputSection('last runner output', exit.output)}`,
    hint: `${where} Run it again to start a fresh worker; if it keeps dying, the model may crash or need more memory than the machine has.`,
    details: { code: exit.code, signal: exit.signal, logFile: exit.logFile, output: exit.output },
  };
}

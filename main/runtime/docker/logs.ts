import type Dockerode from 'dockerode';
import type { ContainerExit } from '../protocol/death.js';

/** Split a non-TTY log buffer (8-byte frame headers) into its text; tolerates a raw buffer. */
export function demuxLogBuffer(buf: Buffer): string {
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const kind = buf[offset];
    const size = buf.readUInt32BE(offset + 4);
    if ((kind !== 0 && kind !== 1 && kind !== 2) || buf[offset + 1] !== 0 || offset + 8 + size > buf.length) {
      return buf.toString('utf8');
    }
    parts.push(buf.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  return parts.join('');
}

/**
 * The container's last log lines, or a note when they cannot be read. With the stdio transport
 * stdout carries protocol frames, so only stderr is worth showing.
 */
export async function lastLogLines(container: Dockerode.Container, opts: { stdout: boolean; lines?: number }): Promise<string> {
  try {
    const raw = await container.logs({ stdout: opts.stdout, stderr: true, tail: opts.lines ?? 30, follow: false });
    return demuxLogBuffer(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).trimEnd();
  } catch (err) {
    return `(logs unavailable: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * Read how a stopped worker container ended (OOM kill, exit code, memory limit) and its last
 * output. Call it before the container is removed. Never throws.
 */
export async function containerExit(container: Dockerode.Container, opts: { stdout: boolean; stderrTail?: (() => string) | undefined }): Promise<ContainerExit> {
  const logs = opts.stderrTail?.() || (await lastLogLines(container, { stdout: opts.stdout }));
  try {
    const info = await container.inspect();
    return { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled === true, memoryBytes: info.HostConfig.Memory, logs };
  } catch {
    return { exitCode: undefined, oomKilled: false, memoryBytes: undefined, logs };
  }
}

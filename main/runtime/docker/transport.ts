import { Duplex, PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';

/**
 * Attach to the container's stdin/stdout before it starts (hijacked, so stdin is writable) and
 * return a duplex that reads the demultiplexed stdout and writes to stdin. Stderr is kept in
 * `stderrTail` for error messages.
 */
export async function attachStdio(docker: Dockerode, container: Dockerode.Container): Promise<{ stream: Duplex; stderrTail: () => string }> {
  const raw = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let tail = '';
  stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  docker.modem.demuxStream(raw, stdout, stderr);
  const finish = (): void => {
    stdout.end();
    stderr.end();
  };
  raw.once('end', finish);
  raw.once('close', finish);
  raw.once('error', finish);
  const stream = Duplex.from({ readable: stdout, writable: raw });
  return { stream, stderrTail: () => tail.trimEnd() };
}

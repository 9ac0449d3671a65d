// Instruments over gRPC, end to end: `dlhub serve --grpc` (its own process, host runtime) beside a
// bare @grpc/grpc-js echo server of the same stream.proto (bench/grpc-echo.ts), both driven by one
// grpc-js client here. Cases: small frames to a no-op servable, one stream and eight, memo off
// (pipelined: the client sends as fast as the stream takes frames); 640x480 frames to a numpy
// mean at 30 frames/s, the answer's latency beside the model's own time.
// BENCH_FRAMES (default 10000) sets the small-frame count; BENCH_IMAGE_FRAMES (default 150) the image frames;
// BENCH_IN_FLIGHT (default 64) the frames a client stream keeps unanswered at most.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inferenceService } from '../main/api/doors/grpc/proto.js';
import { UserStore } from '../main/storage/users.js';
import { fmt, machineLine, summarize } from './stats.js';
import { BIN, ROOT, dlhub, dlhubEnv, sleep } from './service.js';

const FRAMES = Number(process.env['BENCH_FRAMES'] ?? 10_000);
const IMAGE_FRAMES = Number(process.env['BENCH_IMAGE_FRAMES'] ?? 150);
const STREAMS = 8;
/** Frames a client stream sends ahead of its answers (BENCH_IN_FLIGHT). */
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 64);

const APP = `
import time
import numpy as np

def noop(x):
    return x

def mean(frame):
    t = time.perf_counter()
    m = float(np.frombuffer(frame, dtype=np.uint8).mean())
    return {'mean': m, 'ms': (time.perf_counter() - t) * 1000}
`;

function servable(dir: string, name: string, fn: string, input: Record<string, unknown>): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'app.py'), APP);
  writeFileSync(join(folder, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Bench' }] },
    dlhub: { name, version: '1.0.0', files: { other: ['app.py'] } },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: false,
      methods: { run: { input, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn } } },
    },
  }));
  return folder;
}

type Client = grpc.Client & {
  auth(req: unknown, cb: (err: grpc.ServiceError | null, res: { url: string; token: string }) => void): void;
  stream_infer(md?: grpc.Metadata): grpc.ClientDuplexStream<{ data?: Buffer; token?: string }, { data: Buffer }>;
};

function connect(address: string): Client {
  const Ctor = grpc.makeGenericClientConstructor(inferenceService(), 'Inference');
  return new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 }) as unknown as Client;
}

/** A child process that prints its address on one line matching `pattern`. */
async function startChild(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, logFile: string): Promise<{ proc: ChildProcess; address: string; stop: () => Promise<void> }> {
  const log = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = pattern.exec(readFileSync(logFile, 'utf8'));
    if (m?.[1]) {
      return {
        proc,
        address: m[1],
        async stop() {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(killer);
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not start:\n${readFileSync(logFile, 'utf8')}`);
    }
    await sleep(50);
  }
}

interface StreamRun {
  latencies: number[];
  seconds: number;
}

/**
 * One stream: the token (when given), then `frames` frames, sent as fast as the stream takes them or
 * one every `intervalMs`; each answer's latency from its frame's send. Answers are checked by `check`.
 */
function runStream(client: Client, token: string | undefined, frames: number, make: (i: number) => Buffer, check: (i: number, data: Buffer) => void, intervalMs = 0): Promise<StreamRun> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set('dlhub-no-cache', '1');
    const call = client.stream_infer(md);
    const sentAt: number[] = [];
    const latencies: number[] = [];
    const started = performance.now();
    let next = 0;
    let waiting = false;
    call.on('data', (r: { data: Buffer }) => {
      const i = latencies.length;
      latencies.push(performance.now() - (sentAt[i] ?? NaN));
      try {
        check(i, r.data);
      } catch (err) {
        call.cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
      if (latencies.length === frames) call.end();
      else if (waiting && next - latencies.length < IN_FLIGHT) {
        waiting = false;
        pump();
      }
    });
    call.on('error', reject);
    call.on('end', () => (latencies.length === frames ? resolve({ latencies, seconds: (performance.now() - started) / 1000 }) : reject(new Error(`stream ended after ${latencies.length} of ${frames} answers`))));
    if (token !== undefined) call.write({ token });
    const pump = (): void => {
      while (next < frames) {
        // An instrument keeps a bounded number of frames unanswered; latency then is the service's, not a client queue's.
        if (next - latencies.length >= IN_FLIGHT) {
          waiting = true;
          return;
        }
        sentAt[next] = performance.now();
        const ok = call.write({ data: make(next) });
        next += 1;
        if (intervalMs > 0) {
          if (next < frames) setTimeout(pump, Math.max(0, started + next * intervalMs - performance.now()));
          return;
        }
        if (!ok) {
          call.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function auth(client: Client, model: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.auth({ attributes: { model_name: model, user_name: 'bench', password: 'bench' } }, (err, res) => (err ? reject(err) : resolve(res.token)));
  });
}

interface Row {
  label: string;
  frames: number;
  seconds: number;
  latencies: number[];
  extra?: string;
}

async function streams(client: Client, token: () => Promise<string | undefined>, count: number, frames: number, make: (i: number) => Buffer, check: (i: number, d: Buffer) => void): Promise<Omit<Row, 'label'>> {
  const tokens = await Promise.all(Array.from({ length: count }, () => token()));
  const started = performance.now();
  const runs = await Promise.all(tokens.map((t) => runStream(client, t, Math.floor(frames / count), make, check)));
  return { frames: Math.floor(frames / count) * count, seconds: (performance.now() - started) / 1000, latencies: runs.flatMap((r) => r.latencies) };
}

function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.label.length));
  console.log(`${'case'.padEnd(w)}  ${'frames'.padStart(7)}  ${'frames/s'.padStart(9)}  ${'p50'.padStart(10)}  ${'p99'.padStart(10)}`);
  for (const r of rows) {
    const s = summarize(r.latencies);
    console.log(`${r.label.padEnd(w)}  ${String(r.frames).padStart(7)}  ${Math.round(r.frames / r.seconds).toString().padStart(9)}  ${fmt(s.p50).padStart(10)}  ${fmt(s.p99).padStart(10)}${r.extra ? `  ${r.extra}` : ''}`);
  }
}

/** Run the gRPC benchmark and print its tables. */
export async function main(): Promise<void> {
  console.log(machineLine());
  const work = mkdtempSync(join(tmpdir(), 'dlhub-bench-grpc-'));
  const home = join(work, 'home');
  const children: { stop: () => Promise<void> }[] = [];
  try {
    dlhub(home, ['build', servable(work, 'noop', 'noop', { type: 'python object' }), '--runtime', 'host']);
    dlhub(home, ['build', servable(work, 'imgmean', 'mean', { type: 'python object', python_type: 'bytes' }), '--runtime', 'host']);
    const users = UserStore.open(join(home, 'state.db'));
    await users.add('bench', 'bench', 'all');
    users.close();
    const service = await startChild([BIN, 'serve', '--grpc', '0'], dlhubEnv(home, { DLHUB_RATE_LIMIT: 'off' }), /dlhub gRPC .* on (\S+?);/, join(work, 'serve.log'));
    children.push(service);
    const echo = await startChild([join(ROOT, 'dist', 'bench', 'grpc-echo.js')], process.env, /echo on (\S+)/, join(work, 'echo.log'));
    children.push(echo);
    const dl = connect(service.address);
    const bare = connect(echo.address);

    const small = (i: number): Buffer => Buffer.from(`{"key":${i}}`);
    const echoed = (i: number, d: Buffer): void => {
      if (d.toString() !== `{"key":${i}}`) throw new Error(`echo answer ${i}: ${d.toString().slice(0, 80)}`);
    };
    const answered = (i: number, d: Buffer): void => {
      const a = JSON.parse(d.toString()) as { key?: number; output?: { key?: number } };
      if (a.key !== i || a.output?.key !== i) throw new Error(`dlhub answer ${i}: ${d.toString().slice(0, 200)}`);
    };
    const noopToken = (): Promise<string> => auth(dl, 'noop');
    // Warm: a worker started, JIT and connections ready.
    await streams(dl, noopToken, 1, 500, small, answered);
    await streams(bare, async () => undefined, 1, 500, small, echoed);

    const rows: Row[] = [];
    rows.push({ label: 'bare grpc-js echo, 1 stream', ...(await streams(bare, async () => undefined, 1, FRAMES, small, echoed)) });
    rows.push({ label: 'dlhub noop, 1 stream', ...(await streams(dl, noopToken, 1, FRAMES, small, answered)) });
    rows.push({ label: `bare grpc-js echo, ${STREAMS} streams`, ...(await streams(bare, async () => undefined, STREAMS, FRAMES, small, echoed)) });
    rows.push({ label: `dlhub noop, ${STREAMS} streams`, ...(await streams(dl, noopToken, STREAMS, FRAMES, small, answered)) });
    printRows(`Small frames (${small(0).length} B JSON), pipelined (${IN_FLIGHT} unanswered at most per stream), memo off; latency = frame sent -> its answer`, rows);

    // 640x480 8-bit frames at 30 frames/s, one at a time in flight as a camera sends them.
    const image = Buffer.alloc(640 * 480);
    for (let i = 0; i < image.length; i++) image[i] = (i * 7) % 251;
    const expected = image.reduce((a, b) => a + b, 0) / image.length;
    const modelMs: number[] = [];
    const imgToken = await auth(dl, 'imgmean');
    const meanChecked = (_i: number, d: Buffer): void => {
      const a = JSON.parse(d.toString()) as { output?: { mean: number; ms: number } };
      if (!a.output || Math.abs(a.output.mean - expected) > 1e-6) throw new Error(`image answer: ${d.toString().slice(0, 200)}`);
      modelMs.push(a.output.ms);
    };
    await runStream(dl, imgToken, 20, () => image, meanChecked);
    modelMs.length = 0;
    const paced = await runStream(dl, await auth(dl, 'imgmean'), IMAGE_FRAMES, () => image, meanChecked, 1000 / 30);
    const bareImage = await runStream(bare, undefined, IMAGE_FRAMES, () => image, (_i, d) => {
      if (d.length !== image.length) throw new Error('echo image');
    }, 1000 / 30);
    const added = paced.latencies.map((l, i) => l - (modelMs[i] ?? 0));
    const m = summarize(modelMs);
    const a = summarize(added);
    printRows('640x480 frames (307,200 B raw) at 30 frames/s, memo off', [
      { label: 'bare grpc-js echo', frames: IMAGE_FRAMES, seconds: bareImage.seconds, latencies: bareImage.latencies },
      { label: 'dlhub numpy mean', frames: IMAGE_FRAMES, seconds: paced.seconds, latencies: paced.latencies, extra: `model p50 ${fmt(m.p50)}, added p50 ${fmt(a.p50)} p99 ${fmt(a.p99)}` },
    ]);
    console.log('\ntargets: >= 15,000 frames/s of small frames on one stream; 30 frames/s of 640x480 with p99 added latency < 15 ms');
    dl.close();
    bare.close();
  } finally {
    for (const c of children) await c.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

// Instruments over gRPC: a Python client generated from schemas/stream.proto with Debian's grpcio and
// grpc_tools, following the source document's client steps, against `dlhub serve --grpc`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const BIN = resolve('bin/dlhub.js');
const PYTHON = '/usr/bin/python3';
const CLIENT = resolve('test/fixtures/grpc/client.py');
const MAX_FRAME = 1024 * 1024;
const TOKEN_SECONDS = 3;

const APP = `
import base64, time

def mean(x):
    """The document's frame: {'key': n, 'data': base64 image}; answers the key, size and byte sum."""
    raw = base64.b64decode(x['data'])
    if x.get('fail'):
        raise ValueError('frame %d refused' % x['key'])
    return {'key': x['key'], 'n': len(raw), 'sum': sum(raw)}

def echo(x):
    return x

def slow(x):
    with open(LOG, 'a') as f:
        f.write('%d\\n' % x['key'])
    time.sleep(0.5)
    return x['key']
`;

type Method = { input: Record<string, unknown>; output: Record<string, unknown> };
const OBJECT: Method = { input: { type: 'python object' }, output: { type: 'python object' } };
const BYTES: Method = { input: { type: 'python object', python_type: 'bytes' }, output: { type: 'python object', python_type: 'bytes' } };

function servable(dir: string, name: string, fn: string, types: Method, log: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'app.py'), `LOG = ${JSON.stringify(log)}\n${APP}`);
  writeFileSync(join(folder, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Doe, Jane' }] },
    dlhub: { name, version: '1.0.0', files: { other: ['app.py'] } },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: false,
      methods: { run: { ...types, method_details: { module: 'app', method_name: fn } } },
    },
  }));
  return folder;
}

interface Service {
  child: ChildProcess;
  address: string;
  log: () => string;
  stop: () => Promise<void>;
}

function startService(env: Record<string, string>, args: string[] = ['--grpc', '0']): Promise<Service> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return waitFor('dlhub serve --grpc to listen', () => {
    const m = /dlhub gRPC .* on (\S+?)[; ]/.exec(log);
    if (m) return { child, address: m[1] as string, log: () => log, stop };
    if (child.exitCode !== null) throw new Error(`dlhub serve exited:\n${log}`);
    return undefined;
  }, { timeoutMs: 30_000 }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
}

type Event = Record<string, unknown> & { event: string };

/** Run one scenario of the Python client to its end; its events, one per line. */
function client(cwd: string, scenario: string, args: Record<string, unknown>): Promise<Event[]> {
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, [CLIENT, scenario, JSON.stringify(args)], { cwd, env: { ...process.env, PYTHONPATH: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`client ${scenario} exited ${code}:\n${out}\n${err}`));
      done(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event));
    });
  });
}

/** Start a scenario and follow its events as they come. */
function follow(cwd: string, scenario: string, args: Record<string, unknown>): { events: Event[]; child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(PYTHON, [CLIENT, scenario, JSON.stringify(args)], { cwd, env: { ...process.env, PYTHONPATH: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as Event);
  });
  return { events, child, exited: new Promise((r) => child.on('close', r)) };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('gRPC door with a Python instrument client', () => {
  const work = tempDir('dlhub-grpc-');
  const stubs = join(work.dir, 'stubs');
  const log = join(work.dir, 'slow.log');
  const env = { DLHUB_HOME: join(work.dir, 'home'), DLHUB_GRPC_TOKEN_SECONDS: String(TOKEN_SECONDS), DLHUB_MAX_INPUT_BYTES: String(MAX_FRAME), DLHUB_RATE_LIMIT: 'off' };
  let service: Service;
  const user = { user: 'alice', password: 'wonderland' };

  beforeAll(async () => {
    // The document's step 2: compile stream.proto into stream_pb2.py and stream_pb2_grpc.py.
    mkdirSync(stubs);
    const gen = spawnSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${resolve('schemas')}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'stream.proto'], { encoding: 'utf8' });
    expect(gen.status, `grpc_tools.protoc (apt-get install python3-grpcio python3-grpc-tools): ${gen.stderr}`).toBe(0);
    expect(existsSync(join(stubs, 'stream_pb2_grpc.py'))).toBe(true);
    for (const [name, fn, types] of [['mean', 'mean', OBJECT], ['echo', 'echo', BYTES], ['slow', 'slow', OBJECT]] as const) {
      const built = await runCli(['build', servable(join(work.dir, 'src'), name, fn, types, log), '--runtime', 'host', '--json'], env);
      expect(built.code, built.stderr).toBe(0);
    }
    const add = await runCli(['users', 'add', 'alice', '--password', user.password, '--all'], env);
    expect(add.code, add.stderr).toBe(0);
    const bob = await runCli(['users', 'add', 'bob', '--password', 'builder', '--servables', 'echo'], env);
    expect(bob.code, bob.stderr).toBe(0);
    service = await startService(env);
  });

  afterAll(async () => {
    await service?.stop();
    // A worker of the service killed with SIGKILL may still be finishing its batch (writing the slow log): retry.
    rmSync(work.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 500 });
  });

  it('authenticates, streams frames and answers each in order, going on after a model error', async () => {
    const events = await client(stubs, 'stream', { address: service.address, model: 'mean', ...user, frames: 40, fail_at: 17, size: 4096 });
    expect(events[0]).toMatchObject({ event: 'auth', url: service.address });
    const done = events.find((e) => e.event === 'done') as unknown as { answers: Record<string, unknown>[]; expected: { key: number; n: number; sum: number }[] };
    expect(events.find((e) => e.event === 'error')).toBeUndefined();
    expect(done.answers).toHaveLength(40);
    done.answers.forEach((a, i) => {
      expect(a['key']).toBe(i);
      if (i === 17) expect(a['error']).toMatchObject({ status: 'INTERNAL', code: 'MODEL_ERROR', message: 'ValueError: frame 17 refused' });
      else expect(a['output']).toEqual(done.expected[i]);
    });
  });

  it('runs the example instrument as its README says', async () => {
    const built = await runCli(['build', resolve('examples/instrument'), '--runtime', 'host', '--json'], env);
    expect(built.code, built.stderr).toBe(0);
    expect((await runCli(['users', 'add', 'lab1', '--password', 'a long password', '--servables', 'frame-brightness'], env)).code).toBe(0);
    const r = spawnSync(PYTHON, [resolve('examples/instrument/instrument.py'), '--address', service.address, '--user', 'lab1', '--frames', '5', '--fps', '0'], {
      cwd: stubs, encoding: 'utf8', env: { ...process.env, PYTHONPATH: stubs, DLHUB_PASSWORD: 'a long password' },
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    lines.forEach((line, n) => {
      const [, key, json] = /^frame (\d+): (.*)$/.exec(line) ?? [];
      expect(Number(key)).toBe(n);
      expect(JSON.parse(json ?? 'null')).toMatchObject({ min: 0, max: 255, bytes: 640 * 480 });
    });
  });

  it('refuses a wrong password, an unknown servable and one the account may not use', async () => {
    expect(await client(stubs, 'auth', { address: service.address, model: 'mean', user: 'alice', password: 'nope' })).toEqual([
      expect.objectContaining({ event: 'error', code: 'UNAUTHENTICATED' }),
    ]);
    expect(await client(stubs, 'auth', { address: service.address, model: 'nosuch', ...user })).toEqual([
      expect.objectContaining({ event: 'error', code: 'NOT_FOUND' }),
    ]);
    expect(await client(stubs, 'auth', { address: service.address, model: 'mean', user: 'bob', password: 'builder' })).toEqual([
      expect.objectContaining({ event: 'error', code: 'PERMISSION_DENIED' }),
    ]);
  });

  it('ends a stream with UNAUTHENTICATED for a bad token and for an expired one', async () => {
    expect(await client(stubs, 'token', { address: service.address, token: 'not-a-token' })).toEqual([
      expect.objectContaining({ event: 'error', code: 'UNAUTHENTICATED' }),
    ]);
    const expired = await client(stubs, 'expired', { address: service.address, model: 'mean', ...user, wait: TOKEN_SECONDS + 0.5 });
    expect(expired).toEqual([expect.objectContaining({ event: 'error', code: 'UNAUTHENTICATED', details: expect.stringMatching(/expired/) })]);
  });

  it('ends a stream with RESOURCE_EXHAUSTED at a frame over the limit, after answering the frames before it', async () => {
    const events = await client(stubs, 'big', { address: service.address, model: 'mean', ...user, size: MAX_FRAME + 1 });
    expect(events[0]).toMatchObject({ event: 'error', code: 'RESOURCE_EXHAUSTED', details: expect.stringMatching(/limit/) });
    expect(events[1]).toMatchObject({ event: 'done', answers: [{ key: 0, output: { key: 0, n: 5 } }] });
  });

  it('holds back a client that stops reading: the service reads no further and its memory stays bounded', async () => {
    const size = 256 * 1024;
    const frames = 2000; // 500 MB if nothing held it back
    const before = rssBytes(service.child.pid as number);
    const events = await client(stubs, 'stall', { address: service.address, model: 'echo', ...user, frames, size, seconds: 2 });
    const stalled = events.filter((e) => e.event === 'stalled').map((e) => e['taken'] as number);
    expect(stalled).toHaveLength(2);
    // Held back: the client's sender is blocked well short of its frames, and stays blocked.
    expect(stalled[0]).toBeLessThan(frames / 4);
    expect(stalled[1]).toBe(stalled[0]);
    expect(rssBytes(service.child.pid as number) - before).toBeLessThan(150 * 1024 * 1024);
    // The answers were only waiting: they come, in order and intact, once the client reads.
    expect(events.at(-1)).toEqual({ event: 'read', answers: 5 });
  });

  it('cancels the calls a client leaves behind when it goes away mid-stream', async () => {
    // A warm worker: the first frame runs alone, and the client leaves when its answer comes.
    await client(stubs, 'hold', { address: service.address, model: 'slow', ...user, frames: 1, mode: 'read' });
    writeFileSync(log, '');
    const events = await client(stubs, 'hold', { address: service.address, model: 'slow', ...user, frames: 30, mode: 'cancel' });
    expect(events.map((e) => e.event)).toEqual(['answer', 'cancelled']);
    // The service answers for nobody: its calls in flight are gone at once (dlhub status through its socket).
    await waitFor('no call in flight', async () => {
      const r = await runCli(['status', '--json'], { ...env, DLHUB_NO_SERVICE: '0' });
      return r.code === 0 && (JSON.parse(r.stdout) as { inFlight: number }).inFlight === 0;
    }, { timeoutMs: 5000 });
    // 30 frames of 0.5 s each would take 15 s; the frames not yet handed to the worker never start, and the
    // worker answering the rest for nobody is stopped.
    const started = (): number => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).length;
    let last = -1;
    await waitFor('the frames started to stop growing', async () => {
      const now = started();
      const still = now === last;
      last = now;
      await new Promise((r) => setTimeout(r, 1000));
      return still;
    }, { timeoutMs: 12_000 });
    expect(last).toBeLessThan(30);
  });

  it('gives a client UNAVAILABLE when the service is killed mid-stream, and a restarted service serves again', async () => {
    // A warm worker, so the first frame is answered alone while the others are still running.
    await client(stubs, 'hold', { address: service.address, model: 'slow', ...user, frames: 1, mode: 'read' });
    const run = follow(stubs, 'hold', { address: service.address, model: 'slow', ...user, frames: 20, mode: 'read' });
    await waitFor('a first answer', () => run.events.some((e) => e.event === 'answer'), { timeoutMs: 30_000 });
    const killed = new Promise((r) => service.child.once('exit', r));
    service.child.kill('SIGKILL');
    await killed;
    await run.exited;
    expect(run.events.at(-1)).toMatchObject({ event: 'error', code: 'UNAVAILABLE' });
    service = await startService(env);
    const events = await client(stubs, 'stream', { address: service.address, model: 'mean', ...user, frames: 3, fail_at: -1, size: 16 });
    expect((events.at(-1) as unknown as { answers: unknown[] }).answers).toHaveLength(3);
  });
});

describe('dlhub serve --grpc beyond loopback', () => {
  const work = tempDir('dlhub-grpc-tls-');
  const env = { DLHUB_HOME: join(work.dir, 'home') };
  afterAll(() => work.cleanup());

  it('keeps accounts with dlhub users add (password on standard input), ls and rm', () => {
    const cli = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, DLHUB_NO_SERVICE: '1' }, input: input ?? '', encoding: 'utf8' });
    const added = cli(['users', 'add', 'dave', '--servables', 'a, b'], 'from stdin\n');
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain('dave may use a, b');
    expect(cli(['users', 'add', 'erin'], 'pw\n').stderr).toMatch(/--servables a,b or --all/);
    const listed = JSON.parse(cli(['users', 'ls', '--json']).stdout) as { name: string; servables: unknown }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'dave', servables: ['a', 'b'] })]);
    expect(JSON.stringify(listed)).not.toContain('from stdin');
    expect(cli(['users', 'rm', 'dave']).status).toBe(0);
    const again = cli(['users', 'rm', 'dave']);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('No account "dave"');
  });

  it('refuses to listen beyond loopback without TLS, and says why', async () => {
    const r = await runCli(['serve', '--grpc', '0.0.0.0:0'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/without TLS/);
    expect(r.stderr).toMatch(/--grpc-cert/);
  });

  it('speaks TLS with a certificate, and a Python client authenticates over it', async () => {
    const cert = join(work.dir, 'cert.pem');
    const key = join(work.dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect((await runCli(['users', 'add', 'carol', '--password', 'pw', '--all'], env)).code).toBe(0);
    const service = await startService(env, ['--grpc', '0.0.0.0:0', '--grpc-cert', cert, '--grpc-key', key]);
    try {
      expect(service.log()).toMatch(/with TLS/);
      const port = service.address.split(':').at(-1);
      const script = [
        'import grpc, sys, stream_pb2, stream_pb2_grpc',
        `creds = grpc.ssl_channel_credentials(root_certificates=open(${JSON.stringify(cert)}, 'rb').read())`,
        `stub = stream_pb2_grpc.InferenceStub(grpc.secure_channel('localhost:${port}', creds))`,
        'req = stream_pb2.AuthRequest()',
        'req.attributes["model_name"] = "nosuch"; req.attributes["user_name"] = "carol"; req.attributes["password"] = "pw"',
        'try:\n    stub.auth(req)\nexcept grpc.RpcError as e:\n    print(e.code().name)',
      ].join('\n');
      const stubs = join(work.dir, 'stubs');
      mkdirSync(stubs);
      expect(spawnSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${resolve('schemas')}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'stream.proto']).status).toBe(0);
      const r = spawnSync(PYTHON, ['-c', script], { cwd: stubs, encoding: 'utf8', env: { ...process.env, PYTHONPATH: stubs } });
      // Through TLS the password is checked and the servable looked up: NOT_FOUND, not a transport error.
      expect(r.stdout.trim(), r.stderr).toBe('NOT_FOUND');
    } finally {
      await service.stop();
    }
  });
});

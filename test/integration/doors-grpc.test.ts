// The gRPC door beside the in-process door: runServable through auth + stream_infer, as an instrument
// calls it with @grpc/grpc-js and schemas/stream.proto, gives the same output as in process; a model
// error the same code and message (status INTERNAL, the stream going on); an unknown servable the same
// code, NOT_FOUND. The door is the service's own, started with startGrpc as the window starts it.
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import { createClient, type ClientOperations } from '../../main/api/doors/client.js';
import { inProcessTransport } from '../../main/api/doors/in-process.js';
import { fromWire } from '../../main/api/codec.js';
import { DlhubError } from '../../main/errors.js';
import { UserStore } from '../../main/storage/users.js';
import { engineServable } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';

type InferenceClient = grpc.Client & {
  auth(req: { attributes: Record<string, string> }, cb: (err: grpc.ServiceError | null, res?: { url: string; token: string }) => void): void;
  stream_infer(): grpc.ClientDuplexStream<{ data?: Buffer; token?: string }, { data: Buffer }>;
};

/** A client of redhare.Inference made from the proto file as an instrument makes it. */
function inferenceClient(address: string): InferenceClient {
  const def = loadSync(resolve('schemas/stream.proto'), { keepCase: true, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { redhare: { Inference: grpc.ServiceClientConstructor } };
  return new pkg.redhare.Inference(address, grpc.credentials.createInsecure()) as unknown as InferenceClient;
}

function auth(client: InferenceClient, model: string): Promise<{ url: string; token: string }> {
  return new Promise((ok, fail) => client.auth({ attributes: { model_name: model, user_name: 'lab', password: 'frames-pass' } }, (err, res) => (err || !res ? fail(err ?? new Error('auth() gave no answer')) : ok(res))));
}

/** Stream `frames` (each JSON) after the token; the answers parsed, in order. */
function streamFrames(client: InferenceClient, token: string, frames: unknown[]): Promise<Record<string, unknown>[]> {
  return new Promise((ok, fail) => {
    const call = client.stream_infer();
    const answers: Record<string, unknown>[] = [];
    call.on('data', (r: { data: Buffer }) => answers.push(JSON.parse(r.data.toString('utf8')) as Record<string, unknown>));
    call.on('error', fail);
    call.on('end', () => ok(answers));
    call.write({ token });
    for (const f of frames) call.write({ data: Buffer.from(JSON.stringify(f)) });
    call.end();
  });
}

/** What the in-process door answers or throws, as the gRPC door's frame carries it. */
async function inProcess(ops: ClientOperations, name: string, input: unknown): Promise<{ output: unknown } | { code: string; message: string }> {
  try {
    return { output: (await ops.runServable({ name, input, noCache: true })).output };
  } catch (err) {
    if (!(err instanceof DlhubError)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe('runServable through the gRPC door and in process', () => {
  const work = tempDir('dlhub-doors-grpc-');
  let dlhub: Dlhub;
  let ops: ClientOperations;
  let client: InferenceClient;

  beforeAll(async () => {
    const space = join(work.path, 'space');
    dlhub = new Dlhub({ home: join(work.path, 'home') });
    await dlhub.buildServable({ dir: engineServable(space, 'twice', 'double', false), runtime: 'host' });
    await dlhub.buildServable({ dir: engineServable(space, 'mirror', 'echo', false), runtime: 'host' });
    const users = UserStore.open(dlhub.paths.stateDb);
    await users.add('lab', 'frames-pass', 'all');
    users.close();
    ops = createClient(inProcessTransport(dlhub));
    const started = await ops.startGrpc({ address: '127.0.0.1:0' });
    expect(started).toMatchObject({ listening: true, tls: false, accounts: 1 });
    client = inferenceClient(started.address as string);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await dlhub?.close();
    work.remove();
  });

  it('answers each frame with the output the in-process door gives, in order', async () => {
    const inputs = [4, 0.5, 0, 1e6];
    const { token } = await auth(client, 'twice');
    const answers = await streamFrames(client, token, inputs);
    const expected = await Promise.all(inputs.map((x) => inProcess(ops, 'twice', x)));
    expect(answers.map((a) => ({ output: fromWire(a['output']) }))).toEqual(expected);
    expect(expected[0]).toEqual({ output: 8 });
  }, 60_000);

  it('carries a structured value and its key through unchanged, as in process', async () => {
    const frame = { key: 7, data: 'aGVsbG8=', nested: [1, [2, 3], { deep: null }] };
    const { token } = await auth(client, 'mirror');
    const [answer] = await streamFrames(client, token, [frame]);
    expect(answer?.['key']).toBe(7);
    expect({ output: fromWire(answer?.['output']) }).toEqual(await inProcess(ops, 'mirror', frame));
  }, 60_000);

  it('a model error gives the in-process code and message (status INTERNAL), and the next frame is answered', async () => {
    const { token } = await auth(client, 'twice');
    const answers = await streamFrames(client, token, [-2, 3]);
    const failed = await inProcess(ops, 'twice', -2);
    expect(failed).toMatchObject({ code: 'MODEL_ERROR' });
    expect(answers[0]?.['error']).toMatchObject({ status: 'INTERNAL', ...failed });
    expect(answers[1]).toEqual({ output: 6 });
  }, 60_000);

  it('an unknown servable is NOT_FOUND with the in-process code', async () => {
    const grpcError = await auth(client, 'no-such-servable').then(() => undefined, (e: grpc.ServiceError) => e);
    const local = await inProcess(ops, 'no-such-servable', 1);
    expect(local).toMatchObject({ code: 'SERVABLE_NOT_FOUND' });
    expect(grpcError?.code).toBe(grpc.status.NOT_FOUND);
    expect(grpcError?.metadata.get('dlhub-code')).toEqual([(local as { code: string }).code]);
  }, 60_000);

  it('grpcStatus says where it listens, and stopGrpc closes it to new calls', async () => {
    const status = await ops.grpcStatus({});
    expect(status).toMatchObject({ listening: true, tls: false });
    expect(await ops.stopGrpc({})).toMatchObject({ listening: false });
    const late = inferenceClient(status.address as string);
    const err = await auth(late, 'twice').then(() => undefined, (e: grpc.ServiceError) => e);
    late.close();
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  }, 60_000);
});

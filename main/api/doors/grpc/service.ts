import * as grpc from '@grpc/grpc-js';
import { NotFoundError, ServiceError, UsageError, toDlhubError, type DlhubError } from '../../../errors.js';
import { mayUse, type UserStore } from '../../../storage/users.js';
import type { Operations } from '../../operations.js';
import { invoke } from '../invoke.js';
import { frameModes } from './frames.js';
import { inferenceService, type AuthRequest, type AuthResponse, type StreamRequest, type StreamResponse } from './proto.js';
import { serveStream, type OpenStream } from './stream.js';
import { toGrpcError } from './status.js';
import { TokenSigner } from './tokens.js';
import { insecureRemote, isLoopback } from './address.js';

/** How to start the gRPC door. */
export interface GrpcDoorOptions {
  api: Operations;
  users: UserStore;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** PEM certificate chain and key: the door speaks TLS. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Listen beyond loopback without TLS anyway (passwords and frames then cross the network in clear). */
  allowInsecureRemote?: boolean | undefined;
  /** How long a stream token is good for (default one hour, or DLHUB_GRPC_TOKEN_SECONDS). */
  tokenTtlMs?: number | undefined;
  /** Largest data frame in bytes (DLHUB_MAX_INPUT_BYTES by default). */
  maxFrameBytes: number;
  /** Frames of one stream in flight at most (default 32). */
  window?: number | undefined;
}

/** A listening gRPC door. */
export interface RunningGrpcDoor {
  /** `host:port`, as auth() answers it when the client named no host. */
  address: string;
  port: number;
  tls: boolean;
  /** Stop taking calls, let streams end for up to `graceMs`, then close the rest. */
  stop(graceMs?: number): Promise<void>;
}

/** The default token lifetime: DLHUB_GRPC_TOKEN_SECONDS, else one hour. */
export function tokenTtlFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env['DLHUB_GRPC_TOKEN_SECONDS'] ?? '');
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 3_600_000;
}

function unauthorized(message: string, hint: string): DlhubError {
  return new ServiceError('UNAUTHORIZED', message, { hint });
}

/**
 * Start the instruments' door: `redhare.Inference` of schemas/stream.proto. `auth` trades a local
 * account's password (or a still-good token) for a token tied to one servable and user; `stream_infer`
 * runs every frame through the door kit's `invoke` as a remote caller (memo cache, limits, typed errors
 * as on every door).
 */
export async function startGrpcDoor(opts: GrpcDoorOptions): Promise<RunningGrpcDoor> {
  if (!opts.tls && !isLoopback(opts.host) && !opts.allowInsecureRemote) {
    throw insecureRemote(opts.host);
  }
  const signer = new TokenSigner(opts.tokenTtlMs ?? tokenTtlFromEnv());
  const window = Math.max(1, opts.window ?? 32);

  // A servable as a network caller may reach it: built here (a record known only from the catalog cannot run).
  const describe = async (name: string): Promise<{ name: string; modes: ReturnType<typeof frameModes> }> => {
    const d = await invoke(opts.api, 'describeServable', { name }, { remote: true });
    if (d.source === 'catalog') {
      throw new NotFoundError('SERVABLE_NOT_FOUND', `Servable "${d.name}" is known from the catalog but not built on this machine.`, { hint: `Build or pull it first (dlhub build / dlhub pull).` });
    }
    const methods = d.methods as Record<string, Parameters<typeof frameModes>[0]>;
    const names = Object.keys(methods);
    const method = names.includes('run') ? 'run' : names[0];
    return { name: d.name, modes: frameModes(method === undefined ? undefined : methods[method]) };
  };

  const auth = async (call: grpc.ServerUnaryCall<AuthRequest, AuthResponse>): Promise<AuthResponse> => {
    const a = call.request.attributes ?? {};
    const model = a['model_name'];
    if (!model) throw new UsageError('USAGE', 'auth() needs the attribute "model_name".', { hint: 'Set request.attributes["model_name"] to the servable to stream to.' });
    let userName = a['user_name'];
    if (a['password'] !== undefined) {
      if (!userName) throw new UsageError('USAGE', 'auth() with a password needs the attribute "user_name".', { hint: 'Set request.attributes["user_name"].' });
      if (!(await opts.users.verify(userName, a['password']))) {
        throw unauthorized('Wrong user name or password.', 'Check them; an administrator adds accounts with `dlhub users add NAME`.');
      }
    } else if (a['token']) {
      const v = signer.verify(a['token']);
      if ('problem' in v) throw tokenError(v.problem);
      if (userName && userName !== v.grant.user) throw unauthorized('The token belongs to another user.', 'Authenticate with your own user name and password.');
      userName = v.grant.user;
    } else {
      throw unauthorized('auth() needs a "password" or a "token" attribute.', 'Set request.attributes["user_name"] and ["password"], or ["token"] from an earlier auth().');
    }
    const user = opts.users.get(userName ?? '');
    if (!user) throw unauthorized(`No account "${userName ?? ''}".`, 'An administrator adds accounts with `dlhub users add NAME`.');
    // Permission before existence: an account limited to some servables learns nothing about the others.
    if (!mayUse(user, model)) throw forbidden(`Account "${user.name}" may not use servable "${model}".`);
    const servable = await describe(model);
    if (!mayUse(user, servable.name)) throw forbidden(`Account "${user.name}" may not use servable "${servable.name}".`);
    const { token } = signer.issue(user.name, servable.name);
    // The address the client reached this door by is the one to stream to.
    return { url: call.getHost() || address, token };
  };

  const open = async (token: string, noCache: boolean): Promise<OpenStream> => {
    const v = signer.verify(token);
    if ('problem' in v) throw tokenError(v.problem);
    const user = opts.users.get(v.grant.user);
    if (!user || !mayUse(user, v.grant.model)) {
      throw unauthorized(`Account "${v.grant.user}" was removed or may no longer use "${v.grant.model}".`, 'Ask the administrator (`dlhub users ls`).');
    }
    const { name, modes } = await describe(v.grant.model);
    return {
      modes,
      run: async (input, signal) => (await invoke(opts.api, 'runServable', { name, input, ...(noCache ? { noCache } : {}) }, { signal, remote: true })).output,
    };
  };

  const server = new grpc.Server({
    // A frame a little over the limit is read and refused with a clear message; a far bigger one by grpc itself.
    'grpc.max_receive_message_length': opts.maxFrameBytes * 2 + 1024 * 1024,
    'grpc.max_send_message_length': -1,
  });
  server.addService(inferenceService(), {
    auth: (call: grpc.ServerUnaryCall<AuthRequest, AuthResponse>, callback: grpc.sendUnaryData<AuthResponse>) => {
      auth(call).then(
        (answer) => callback(null, answer),
        (err: unknown) => callback(toGrpcError(toDlhubError(err))),
      );
    },
    stream_infer: (call: grpc.ServerDuplexStream<StreamRequest, StreamResponse>) => {
      const noCache = call.metadata.get('dlhub-no-cache').some((v) => String(v) === '1' || String(v) === 'true');
      serveStream(call, { open: (token) => open(token, noCache), window, maxFrameBytes: opts.maxFrameBytes });
    },
  });
  const credentials = opts.tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], false) : grpc.ServerCredentials.createInsecure();
  const bindHost = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${opts.port}`, credentials, (err, p) => (err ? reject(bindError(err, bindHost, opts.port)) : resolve(p)));
  });
  const address = `${bindHost}:${port}`;
  return {
    address,
    port,
    tls: opts.tls !== undefined,
    stop: (graceMs = 0) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** An account that authenticated but may not use the servable it named (PERMISSION_DENIED). */
function forbidden(message: string): DlhubError {
  return new ServiceError('FORBIDDEN', message, { hint: 'An administrator can allow it: `dlhub users add NAME --servables a,b` (or --all).' });
}

function tokenError(problem: 'malformed' | 'forged' | 'expired'): DlhubError {
  return problem === 'expired'
    ? unauthorized('The token has expired.', 'Call auth() again for a new token.')
    : unauthorized('The token is not one this service issued (or the service restarted since).', 'Call auth() again for a new token.');
}

function bindError(err: Error, host: string, port: number): DlhubError {
  return new ServiceError('SERVICE_UNAVAILABLE', `The gRPC door cannot listen on ${host}:${port}: ${err.message}`, {
    hint: 'Choose another port with --grpc PORT (0 picks a free one), or stop what holds it.',
  });
}

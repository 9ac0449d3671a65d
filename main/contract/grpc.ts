// Wire types of the instruments' gRPC door as the window and the other doors control it: whether it
// listens, where, with TLS or not; start it on an address (a certificate makes it TLS) and stop it.
import { Type, type Static } from '@sinclair/typebox';

/** Whether the gRPC door listens, and where. */
export const GrpcStatus = Type.Object({
  listening: Type.Boolean({ description: 'the gRPC door (redhare.Inference of schemas/stream.proto) takes calls now' }),
  address: Type.Optional(Type.String({ description: 'HOST:PORT it listens on' })),
  port: Type.Optional(Type.Integer()),
  tls: Type.Boolean({ description: 'it speaks TLS (a certificate was given)' }),
  accounts: Type.Integer({ minimum: 0, description: 'local accounts instruments can sign in with (dlhub users)' }),
}, { $id: 'GrpcStatus' });
export type GrpcStatus = Static<typeof GrpcStatus>;

/** Start the gRPC door: on loopback in clear text, or beyond it with a certificate. */
export const StartGrpcRequest = Type.Object({
  address: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'PORT (on 127.0.0.1) or HOST:PORT; PORT 0 picks a free one; default 127.0.0.1:0' })),
  cert: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PEM certificate chain file on the serving machine: the door speaks TLS' })),
  key: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PEM private key file of cert' })),
}, { additionalProperties: false });
export type StartGrpcRequest = Static<typeof StartGrpcRequest>;

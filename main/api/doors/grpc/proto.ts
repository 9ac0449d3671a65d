import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { assetPath } from '../../../servable/assets.js';

/** `AuthRequest` of schemas/stream.proto: `model_name`, `user_name`, `password` or `token`. */
export interface AuthRequest {
  attributes?: Record<string, string>;
}

/** `AuthResponse`: the address to stream to and a token for that stream. */
export interface AuthResponse {
  url: string;
  token: string;
}

/** `Request`: the token first, then one `data` frame per input. */
export interface StreamRequest {
  data?: Buffer | undefined;
  token?: string | undefined;
  request_oneof?: 'data' | 'token' | undefined;
}

/** `Response`: one answer per data frame, in order. */
export interface StreamResponse {
  data: Buffer;
}

/** The proto file the service speaks, kept byte for byte as the instruments' clients have it. */
export function protoFile(): string {
  return assetPath('schemas', 'stream.proto');
}

/**
 * The `redhare.Inference` service definition read from schemas/stream.proto at start. Field names
 * stay as the file spells them (`model_name`, `request_oneof`), and the oneof names the field it
 * holds, so a frame is never mistaken for a token.
 */
export function inferenceService(): grpc.ServiceDefinition {
  const pkg = loadSync(protoFile(), { keepCase: true, defaults: false, oneofs: true, longs: String, enums: String });
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as { redhare: { Inference: grpc.ServiceClientConstructor } };
  return loaded.redhare.Inference.service;
}

// The contract, importable by a renderer: schemas, the operations table and the OpenAPI builder, no engine code.
export * from './operations.js';
export * from './schemas.js';
export * from './metadata.js';
export * from './runtimes.js';
export * from './clusters.js';
export * from './hardware.js';
export * from './ndarray.js';
export * from './codec.js';
export * from './query.js';
export * from './upload.js';
export * from './hub.js';
export * from './hub-repository.js';
export * from './grpc.js';
export { buildOpenApi } from './openapi.js';

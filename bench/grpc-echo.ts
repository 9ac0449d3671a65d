// The baseline of the gRPC benchmark: a bare @grpc/grpc-js server of the same stream.proto whose
// stream_infer answers every data frame with the frame itself (no auth, no engine). Run as its own
// process (`node dist/bench/grpc-echo.js`), as `dlhub serve --grpc` is, so both pay for their own event loop.
import * as grpc from '@grpc/grpc-js';
import { pathToFileURL } from 'node:url';
import { inferenceService, type StreamRequest, type StreamResponse } from '../main/api/doors/grpc/proto.js';

/** Listen on 127.0.0.1 (a free port) and print the port. */
async function serve(): Promise<void> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  server.addService(inferenceService(), {
    auth: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { url: '', token: 'echo' }),
    stream_infer: (call: grpc.ServerDuplexStream<StreamRequest, StreamResponse>) => {
      call.on('data', (m: StreamRequest) => {
        if (m.data && !call.write({ data: m.data })) {
          call.pause();
          call.once('drain', () => call.resume());
        }
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  console.log(`echo on 127.0.0.1:${port}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await serve();

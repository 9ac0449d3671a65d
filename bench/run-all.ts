// `npm run bench [memo|runtime|catalog|search-e2e|pipeline|serving|door|run-e2e|grpc|window|hpc|hub|frameworks]`: every benchmark (or one) in turn, each printing its own table beside its baseline.
import { main as catalog } from './catalog.bench.js';
import { main as door } from './door.bench.js';
import { main as frameworks } from './frameworks.bench.js';
import { main as grpcBench } from './grpc.bench.js';
import { main as hpc } from './hpc.bench.js';
import { main as hub } from './hub.bench.js';
import { main as memo } from './memo.bench.js';
import { main as pipeline } from './pipeline.bench.js';
import { main as runtime } from './runtime.bench.js';
import { main as runE2e } from './run-e2e.bench.js';
import { main as searchE2e } from './search-e2e.bench.js';
import { main as serving } from './serving.bench.js';
import { main as windowBench } from './window.bench.js';

const only = process.argv[2];
const benches: [string, () => unknown][] = [
  ['memo', memo],
  ['runtime', runtime],
  ['catalog', catalog],
  // A fresh `dlhub search` process, start to answer; fails (non-zero exit) when the saved index is rebuilt, not loaded.
  ['search-e2e', searchE2e],
  ['pipeline', pipeline],
  // End to end through `dlhub serve --http` beside a Flask container, with our client, autocannon and wrk.
  ['serving', serving],
  // The HTTP door's own cost: a memo hit through `dlhub serve --http` against a bare node:http server (host runtime, seconds).
  ['door', door],
  // A fresh `dlhub run` process answered from the memo cache, start to answer, without and with the service.
  ['run-e2e', runE2e],
  // Instruments over gRPC: `dlhub serve --grpc` beside a bare grpc-js echo server, small frames and 640x480 frames.
  ['grpc', grpcBench],
  // The desktop window in Chromium over `dlhub serve --ui`: first paint, keystroke to results painted, JS size.
  ['window', windowBench],
  // 10,000 iris rows through a local single-node Slurm (pilot jobs) beside the local Docker runtime.
  ['hpc', hpc],
  // The hub: a 100,000-record sync from empty (previous way beside current), 100 changes, publish, feed and record reads on SQLite and PostgreSQL.
  ['hub', hub],
  // PyTorch: a small CNN's warm calls through the engine (Docker, host) beside its own forward pass; the framework base image.
  ['frameworks', frameworks],
];
for (const [name, run] of benches) {
  if (only && only !== name) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}

// `npm run bench`: every benchmark in turn, each printing its own table beside its baseline.
import { main as memo } from './memo.bench.js';
import { main as runtime } from './runtime.bench.js';

const only = process.argv[2];
const benches: [string, () => unknown][] = [
  ['memo', memo],
  ['runtime', runtime],
];
for (const [name, run] of benches) {
  if (only && only !== name) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}

#!/usr/bin/env node
// The `dlhub-hub` command: a thin launcher for the compiled hub (run `npm run build` first).
import('../dist/hub/cli.js').then((m) => m.main(process.argv)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);

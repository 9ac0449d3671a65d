#!/usr/bin/env node
// The `dlhub` command: a thin launcher for the compiled CLI (run `npm run build` first).
import('../dist/main/cli/main.js').then((m) => m.main(process.argv)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);

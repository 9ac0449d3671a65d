// A load run against the hub from a process of its own, so the clients do not share the hub's event
// loop: `clients` loops, each asking one path after another for `seconds`, either flat out (rate 0)
// or at most `rate` requests a second per client (a bounded load: a request waits for its turn; a
// client that falls behind goes at once and skips the turns it missed). Each response's time goes into the answer.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one load run does. */
export interface LoadPlan {
  url: string;
  token: string;
  /** Paths asked in turn (a client takes the next one each time). */
  paths: string[];
  clients: number;
  /** Requests a second per client; 0: as fast as answers come. */
  rate: number;
  seconds: number;
}

/** Every response's time (ms) and the requests a second reached; non-200 answers and dropped connections are counted, not timed. */
export interface LoadResult {
  samples: number[];
  perSecond: number;
  failed: number;
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const samples: number[] = [];
  let failed = 0;
  let n = 0;
  const start = performance.now();
  const end = start + plan.seconds * 1000;
  const gap = plan.rate > 0 ? 1000 / plan.rate : 0;
  await Promise.all(Array.from({ length: plan.clients }, async (_, c) => {
    // Clients start spread over one gap, so a bounded run does not arrive in bursts of `clients`.
    let due = start + (gap * c) / plan.clients;
    for (;;) {
      const now = performance.now();
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
      if (performance.now() >= end) return;
      const t = performance.now();
      try {
        const res = await fetch(`${plan.url}${plan.paths[n++ % plan.paths.length] as string}`, { headers: { authorization: `Bearer ${plan.token}` } });
        await res.arrayBuffer();
        if (res.status === 200) samples.push(performance.now() - t);
        else failed++;
      } catch {
        // A connection reset or refused under load counts as a failed request, as a load tool reports it.
        failed++;
      }
      // A client behind its schedule skips the turns it missed rather than catching up in a burst.
      due = Math.max(due + gap, performance.now());
    }
  }));
  return { samples, perSecond: (samples.length + failed) / plan.seconds, failed };
}

/** Run `plan` in a child process and answer its figures. */
export function loadFromChild(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`the load process exited with ${code}`))));
    child.stdin.end(JSON.stringify(plan));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString();
  process.stdout.write(JSON.stringify(await run(JSON.parse(text) as LoadPlan)));
}

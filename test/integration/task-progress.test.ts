// A running batch task says how far it has got: every change comes on watchTasks with the inputs
// answered so far (memo hits at once, then each part the worker answers), never going back, and the
// finished task carries no progress. Host runtime, real Python.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dlhub } from '../../main/api/dlhub.js';
import type { TaskInfo } from '../../main/contract/index.js';
import { buildEngineServables } from '../helpers/engine.js';
import { tempDir } from '../helpers/home.js';

let tmp: { path: string; remove: () => void };
let api: Dlhub;

beforeAll(async () => {
  tmp = tempDir('dlhub-progress-');
  const home = join(tmp.path, 'home');
  await buildEngineServables(home, join(tmp.path, 'src'), [['double', 'double']], { hostOnly: true });
  api = new Dlhub({ home });
}, 120_000);

afterAll(async () => {
  await api?.close();
  tmp?.remove();
});

/** Every state of task `id` that watchTasks brings until it finishes. */
async function follow(watch: AsyncIterable<TaskInfo>, id: () => string | undefined): Promise<TaskInfo[]> {
  // Kept whatever their id: the first changes may come before submitTask has answered it.
  const seen: TaskInfo[] = [];
  for await (const t of watch) {
    seen.push(t);
    if (t.id === id() && ['succeeded', 'failed', 'cancelled'].includes(t.status)) break;
  }
  return seen.filter((t) => t.id === id());
}

describe('task progress', () => {
  it('a batch reports inputs answered as the worker answers its parts; memo hits count at once', async () => {
    const warm = Array.from({ length: 500 }, (_, i) => i);
    await api.runServable({ name: 'double', inputs: warm });
    // 500 memo hits, then 2,600 new inputs: parts of at most 1,024 go to the worker.
    const inputs = Array.from({ length: 3100 }, (_, i) => i);
    const ctl = new AbortController();
    const ref: { id?: string } = {};
    const states = follow(api.watchTasks({}, { signal: ctl.signal }), () => ref.id);
    const submitted = await api.submitTask({ name: 'double', inputs });
    ref.id = submitted.id;
    const seen = await states;
    ctl.abort();

    const progress = seen.filter((t) => t.status === 'running' && t.progress).map((t) => t.progress);
    expect(progress[0]).toEqual({ done: 500, total: 3100 });
    const done = progress.map((p) => p?.done ?? -1);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(new Set(done).size).toBeGreaterThanOrEqual(4);
    expect(done.at(-1)).toBe(3100);
    expect(progress.every((p) => p?.total === 3100 && p.chunks === undefined)).toBe(true);
    const last = seen.at(-1);
    expect(last?.status).toBe('succeeded');
    expect(last?.progress).toBeUndefined();
    expect((await api.getTask({ id: submitted.id })).progress).toBeUndefined();
    const out = await api.getResult({ id: submitted.id });
    expect(out.output).toEqual(inputs.map((x) => x * 2));
  }, 120_000);
});

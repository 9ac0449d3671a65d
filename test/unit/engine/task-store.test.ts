// The task table on a real state.db: claims and recovery are atomic, so two processes never run one task.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStore } from '../../../main/engine/task-store.js';
import { tempDir } from '../../helpers/cli.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

function db(): string {
  const d = tempDir('dlhub-taskstore-');
  dirs.push(d);
  return join(d.dir, 'state.db');
}

const deadPid = (): number => spawnSync('true').pid ?? 999_999;
const failure = (r: { id: string }) => ({ code: 'RUNNER_DIED', message: `orphan ${r.id}` });

function insert(store: TaskStore, deterministic: boolean) {
  return store.insert({ servable: 's', method: 'run', batch: false, deterministic, request: { name: 's' }, input: Buffer.from('x') });
}

describe('TaskStore', () => {
  it('lets exactly one of two live processes take over each task of a dead one', () => {
    const file = db();
    const dead = new TaskStore(file, deadPid());
    const ids = Array.from({ length: 20 }, () => insert(dead, true).id);
    for (const id of ids.slice(0, 10)) expect(dead.claim(id)).toBeDefined();
    dead.close();
    const a = new TaskStore(file, process.pid);
    const b = new TaskStore(file, process.ppid);
    const gotA = a.recover(true, failure);
    const gotB = b.recover(true, failure);
    expect([...gotA, ...gotB].sort()).toEqual([...ids].sort());
    expect(gotA.filter((id) => gotB.includes(id))).toEqual([]);
    // The ones that were running count a restart; the pending ones never started.
    expect(ids.slice(0, 10).every((id) => a.get(id).restarts === 1)).toBe(true);
    expect(ids.slice(10).every((id) => a.get(id).restarts === 0)).toBe(true);
    // And only the owner can claim: the other process cannot run a task it did not win.
    for (const id of gotA) expect(b.claim(id)).toBeUndefined();
    for (const id of gotA) expect(a.claim(id)).toBeDefined();
    a.close();
    b.close();
  });

  it('fails a non-deterministic task that was running when its process died, with the reason, and never hands it out', () => {
    const file = db();
    const dead = new TaskStore(file, deadPid());
    const running = insert(dead, false).id;
    const pending = insert(dead, false).id;
    dead.claim(running);
    dead.close();
    const s = new TaskStore(file);
    expect(s.recover(true, failure)).toEqual([pending]);
    expect(s.get(running)).toMatchObject({ status: 'failed', error: { code: 'RUNNER_DIED', message: `orphan ${running}` } });
    s.close();
  });

  it('leaves tasks of a live process alone, and keeps a cancel against a late answer', () => {
    const file = db();
    const owner = new TaskStore(file, process.ppid);
    const id = insert(owner, true).id;
    owner.claim(id);
    const other = new TaskStore(file, process.pid);
    expect(other.recover(true, failure)).toEqual([]);
    expect(other.cancel(id, { code: 'CANCELLED', message: 'cancelled' })).toBe(true);
    expect(owner.succeed(id, { servable: 's', method: 'run', runtime: 'host', cached: false, elapsedMs: 1 }, Buffer.from('y'))).toBe(false);
    expect(other.get(id).status).toBe('cancelled');
    owner.close();
    other.close();
  });
});

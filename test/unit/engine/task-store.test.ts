// The task table on a real state.db: claims and recovery are atomic, so two processes never run one task.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStore } from '../../../main/engine/task-store.js';
import { orphanVerdict } from '../../../main/engine/task-scheduler.js';
import { decodeStoredResult, encodeResultFrame, encodeValue } from '../../../main/runtime/protocol/values.js';
import { tempDir } from '../../helpers/home.js';

const dirs: { remove: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function db(): string {
  const d = tempDir('dlhub-taskstore-');
  dirs.push(d);
  return join(d.path, 'state.db');
}

const deadPid = (): number => spawnSync('true').pid ?? 999_999;
function frame(value: unknown): Buffer {
  const e = encodeValue(value);
  return encodeResultFrame(e.json, e.buffers);
}

function insert(store: TaskStore, deterministic: boolean, inputs?: unknown[]) {
  return store.insert({ servable: 's', method: 'run', batch: inputs !== undefined, deterministic, request: { name: 's' }, input: frame(inputs ?? 'x') });
}

/** What a worker's answer for `items` leaves in state.db the moment it arrives. */
function answered(store: TaskStore, id: string, items: number[], outputs: unknown[]): void {
  expect(store.savePart(id, { items, runtime: 'host', elapsedMs: 5, answer: frame({ outputs, errors: outputs.map(() => null) }) })).toBe(true);
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
    const gotA = a.recover(true, orphanVerdict).adopted;
    const gotB = b.recover(true, orphanVerdict).adopted;
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
    expect(s.recover(true, orphanVerdict)).toEqual({ adopted: [pending], settled: [running] });
    expect(s.get(running)).toMatchObject({ status: 'failed', error: { code: 'RUNNER_DIED', message: expect.stringContaining(running) as string } });
    s.close();
  });

  it('leaves tasks of a live process alone, and keeps a cancel against a late answer', () => {
    const file = db();
    const owner = new TaskStore(file, process.ppid);
    const id = insert(owner, true).id;
    owner.claim(id);
    const other = new TaskStore(file, process.pid);
    expect(other.recover(true, orphanVerdict)).toEqual({ adopted: [], settled: [] });
    expect(other.cancel(id, { code: 'CANCELLED', message: 'cancelled' })).toBe(true);
    expect(owner.succeed(id, { servable: 's', method: 'run', runtime: 'host', cached: false, elapsedMs: 1 }, Buffer.from('y'))).toBe(false);
    expect(other.get(id).status).toBe('cancelled');
    owner.close();
    other.close();
  });

  it('keeps the answer of a non-deterministic task whose worker had answered when its process died', () => {
    const file = db();
    const dead = new TaskStore(file, deadPid());
    const id = insert(dead, false).id;
    dead.claim(id);
    answered(dead, id, [0], [0.25]);
    dead.close();
    const s = new TaskStore(file);
    expect(s.recover(true, orphanVerdict)).toEqual({ adopted: [], settled: [id] });
    const { info, outcome, output } = s.result(id);
    expect(info.status).toBe('succeeded');
    expect(outcome).toMatchObject({ servable: 's', method: 'run', runtime: 'host', cached: false });
    expect(decodeStoredResult(output as Buffer)).toBe(0.25);
    s.close();
  });

  it('keeps the answered part of a non-deterministic batch and fails only the inputs no worker answered', () => {
    const file = db();
    const dead = new TaskStore(file, deadPid());
    const id = insert(dead, false, [1, 2, 3, 4]).id;
    dead.claim(id);
    answered(dead, id, [0, 1], ['a', 'b']);
    dead.close();
    const s = new TaskStore(file);
    s.recover(true, orphanVerdict);
    const { info, outcome, output } = s.result(id);
    expect(info.status).toBe('succeeded');
    expect(decodeStoredResult(output as Buffer)).toEqual(['a', 'b', null, null]);
    expect(outcome?.errors?.map((e) => e?.code ?? null)).toEqual([null, null, 'RUNNER_DIED', 'RUNNER_DIED']);
    s.close();
  });

  it('finishes a deterministic task from its kept answers instead of running it again, and reruns one half answered', () => {
    const file = db();
    const dead = new TaskStore(file, deadPid());
    const done = insert(dead, true, [1, 2]).id;
    const half = insert(dead, true, [1, 2]).id;
    dead.claim(done);
    dead.claim(half);
    answered(dead, done, [0], ['x']);
    answered(dead, done, [1], ['y']);
    answered(dead, half, [1], ['y']);
    dead.close();
    const s = new TaskStore(file);
    expect(s.recover(true, orphanVerdict)).toEqual({ adopted: [half], settled: [done] });
    expect(decodeStoredResult(s.result(done).output as Buffer)).toEqual(['x', 'y']);
    expect(s.get(half)).toMatchObject({ status: 'pending', restarts: 1 });
    // A rerun starts afresh: the answers kept from the first run are not mixed into the second.
    expect(s.parts(half)).toEqual([]);
    s.close();
  });
});

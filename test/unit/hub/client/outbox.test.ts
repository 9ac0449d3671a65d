// The outbox on a real state.db: entries wait their backoff, are taken by one process at a time, a
// dead process's entry is taken over, and what the hub refused stays visible as failed.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { backoffMs, newIdempotencyKey, Outbox } from '../../../../main/hub/outbox.js';
import { tempDir } from '../../../helpers/home.js';

const dirs: { remove: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function openOutbox(clock: { t: number }): { outbox: Outbox; file: string } {
  const dir = tempDir('dlhub-outbox-');
  dirs.push(dir);
  const file = join(dir.path, 'state.db');
  return { outbox: Outbox.open(file, () => clock.t), file };
}

/** A pid that is certainly gone: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('outbox', () => {
  it('holds an entry until its backoff is over, unless forced', () => {
    const clock = { t: 1_000_000 };
    const { outbox } = openOutbox(clock);
    const id = outbox.add('publish', 'iris', 'private', 'http://hub', newIdempotencyKey(), 'hub away');
    expect(outbox.claim()).toBeUndefined();
    expect(outbox.claim({ force: true })?.id).toBe(id);
    outbox.retry(id, 'still away');
    clock.t += 3_000;
    expect(outbox.claim()).toBeUndefined();
    clock.t += 60_000;
    const again = outbox.claim();
    expect(again).toMatchObject({ id, kind: 'publish', name: 'iris', detail: 'private', hub: 'http://hub' });
    outbox.close();
  });

  it('keeps one idempotency key per entry across tries, and lists what became of each', () => {
    const clock = { t: 0 };
    const { outbox } = openOutbox(clock);
    const key = newIdempotencyKey();
    const id = outbox.add('publish', 'iris', '', 'http://hub', key, 'away');
    expect(outbox.add('publish', 'iris', '', 'http://hub', key, 'away')).toBe(id);
    expect(outbox.claim({ force: true })?.idempotencyKey).toBe(key);
    outbox.retry(id, 'away again');
    expect(outbox.claim({ force: true })?.idempotencyKey).toBe(key);
    outbox.done(id, { status: 'published', name: 'iris', owner: 'alice', version: '1' });
    const share = outbox.add('share', 'iris', 'lab', 'http://hub', newIdempotencyKey(), 'away');
    outbox.claim({ force: true });
    outbox.fail(share, 'No group "lab".');
    const items = outbox.list();
    expect(items.map((i) => [i.id, i.status])).toEqual([[share, 'failed'], [id, 'done']]);
    expect(items[1]?.result).toMatchObject({ status: 'published', version: '1' });
    expect(items[0]?.lastError).toBe('No group "lab".');
    expect(outbox.counts()).toEqual({ queued: 0, failed: 1 });
    outbox.close();
  });

  it('is taken by one connection at a time, and taken over from a process that died while sending', () => {
    const clock = { t: 0 };
    const { outbox, file } = openOutbox(clock);
    const other = Outbox.open(file, () => clock.t);
    const id = outbox.add('share', 'iris', 'lab', 'http://hub', newIdempotencyKey(), 'away');
    expect(outbox.claim({ force: true })?.id).toBe(id);
    // Same process, still sending: nobody else takes it.
    expect(other.claim({ force: true })).toBeUndefined();
    // The sender was killed: its row names a pid that is gone.
    outbox.db.prepare('UPDATE hub_outbox SET owner_pid = ? WHERE id = ?').run(deadPid(), id);
    expect(other.claim({ force: true })?.id).toBe(id);
    other.close();
    outbox.close();
  });

  it('keeps a share behind the publish of the same servable', () => {
    const clock = { t: 0 };
    const { outbox } = openOutbox(clock);
    outbox.add('publish', 'iris', '', 'http://hub', newIdempotencyKey(), 'away');
    outbox.add('share', 'iris', 'lab', 'http://hub', newIdempotencyKey(), 'away');
    const first = outbox.claim({ force: true });
    const second = outbox.claim({ force: true, skip: new Set([first?.id ?? 0]) });
    expect(second?.kind).toBe('share');
    expect(outbox.earlierWaiting(second!)).toBe(true);
    expect(outbox.earlierWaiting(first!)).toBe(false);
    outbox.close();
  });

  it('backs off longer each time, between 4 s and 12 minutes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempts, r) => {
      const ms = backoffMs(attempts, () => r);
      expect(ms).toBeGreaterThanOrEqual(4_000);
      expect(ms).toBeLessThanOrEqual(720_000);
      expect(backoffMs(attempts + 1, () => r)).toBeGreaterThanOrEqual(ms);
    }), { numRuns: 200, seed: 7 });
  });
});

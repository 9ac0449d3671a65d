import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedLog } from '../../../main/runtime/bounded-log.js';
import { tempDir } from '../../helpers/home.js';

const dirs: { remove: () => void }[] = [];
function fresh(): string {
  const d = tempDir('dlhub-log-');
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function size(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

describe('BoundedLog', () => {
  it('keeps everything while under the bound', () => {
    const file = join(fresh(), 'w.log');
    const log = new BoundedLog(file, 1024);
    log.write(Buffer.from('one\n'));
    log.write(Buffer.from('two\n'));
    log.close();
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    expect(existsSync(`${file}.1`)).toBe(false);
  });

  it('rotates to .1 when a write would cross the bound, so the newest output is kept and the total stays under twice the bound', () => {
    const file = join(fresh(), 'w.log');
    const log = new BoundedLog(file, 100);
    for (let i = 0; i < 50; i++) log.write(Buffer.from(`line ${String(i).padStart(3, '0')}\n`));
    log.close();
    expect(size(file)).toBeLessThanOrEqual(100);
    expect(size(`${file}.1`)).toBeLessThanOrEqual(100);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').pop()).toBe('line 049');
  });

  it('counts what an earlier worker already wrote to the same file', () => {
    const file = join(fresh(), 'w.log');
    writeFileSync(file, 'x'.repeat(90));
    const log = new BoundedLog(file, 100);
    log.write(Buffer.from('y'.repeat(20)));
    log.close();
    expect(readFileSync(file, 'utf8')).toBe('y'.repeat(20));
    expect(size(`${file}.1`)).toBe(90);
  });

  it('never holds more than twice the bound on disk, whatever the chunk sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 4096 }), fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 40 }), (max, chunks) => {
        const file = join(fresh(), 'w.log');
        const log = new BoundedLog(file, max);
        for (const n of chunks) log.write(new Uint8Array(n).fill(97));
        log.close();
        expect(size(file)).toBeLessThanOrEqual(max);
        expect(size(file) + size(`${file}.1`)).toBeLessThanOrEqual(2 * max);
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it('drops output instead of failing when the folder is gone', () => {
    const log = new BoundedLog(join(fresh(), 'missing', 'w.log'), 100);
    expect(() => log.write(Buffer.from('lost'))).not.toThrow();
    log.close();
  });
});

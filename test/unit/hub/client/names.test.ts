// What the hub client turns into paths, tags and catalog keys: pull references, visibilities and
// change-feed pages. Hostile names are refused with a typed error, never passed on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DlhubError } from '../../../../main/errors.js';
import { parsePullRef } from '../../../../main/hub/pull.js';
import { hubVisibility } from '../../../../main/hub/publish.js';
import { pageOps } from '../../../../main/hub/sync.js';
import { DIGEST_RE } from '../../../../main/hub/image-transfer.js';

const md = (name: string) => ({
  datacite: { titles: [{ title: name }], creators: [{ creatorName: 'A' }] },
  dlhub: { name },
  servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: { input: { type: 'string' }, output: { type: 'string' }, method_details: { module: 'app', method_name: 'run' } } } },
});
const record = (owner: string, name: string, version: string) => ({
  owner, name, version, metadata: md(name), image: { repository: `${owner}/${name}`, digest: `sha256:${'a'.repeat(64)}` }, visibility: 'public' as const, createdAt: '', updatedAt: '',
});

describe('pull references', () => {
  it('split OWNER/NAME[@VERSION]', () => {
    expect(parsePullRef('alice/iris')).toEqual({ owner: 'alice', name: 'iris', version: undefined });
    expect(parsePullRef('alice/iris@1.0.0')).toEqual({ owner: 'alice', name: 'iris', version: '1.0.0' });
  });

  it('refuse .., separators, control characters and empty parts', () => {
    for (const bad of ['alice/../iris', '../iris', 'alice/iris/x', 'alice/ir\u0000is', 'alice/', '/iris', 'Alice/iris', 'alice/iris@', 'alice/iris@../x', 'alice/iris@1..2', 'alice\\iris']) {
      expect(() => parsePullRef(bad), bad).toThrow(DlhubError);
    }
  });

  it('never yield a part with a separator or .. (fuzzed)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      try {
        const r = parsePullRef(s);
        for (const part of [r.owner, r.name, r.version ?? 'x']) {
          expect([...part].some((ch) => ch === '/' || ch === '\\' || ch.charCodeAt(0) < 32)).toBe(false);
          expect(part.includes('..')).toBe(false);
        }
      } catch (err) {
        expect(err).toBeInstanceOf(DlhubError);
      }
    }), { numRuns: 2000, seed: 11 });
  });
});

describe('digests', () => {
  it('are sha256: and 64 hex digits, nothing else', () => {
    expect(DIGEST_RE.test(`sha256:${'0'.repeat(64)}`)).toBe(true);
    for (const bad of [`sha256:${'0'.repeat(63)}`, `sha256:${'0'.repeat(65)}`, `sha512:${'0'.repeat(64)}`, `sha256:${'G'.repeat(64)}`, `sha256:${'0'.repeat(64)}\n`, `sha256:../${'0'.repeat(61)}`]) expect(DIGEST_RE.test(bad), bad).toBe(false);
  });
});

describe('visibility', () => {
  it('reads public, private and group:G', () => {
    expect(hubVisibility(undefined)).toBeUndefined();
    expect(hubVisibility('public')).toBe('public');
    expect(hubVisibility('private')).toBe('private');
    expect(hubVisibility('group:lab')).toEqual({ groups: ['lab'] });
    for (const bad of ['group:', 'group:../x', 'friends', 'group:Lab']) expect(() => hubVisibility(bad), bad).toThrow(DlhubError);
  });
});

describe('change-feed pages', () => {
  it('become puts and removals, the last change of a version winning', () => {
    const ops = pageOps({
      changes: [
        { cursor: '1', owner: 'alice', name: 'iris', version: '1', record: record('alice', 'iris', '1') },
        { cursor: '2', owner: 'alice', name: 'iris', version: '1', deleted: true },
        { cursor: '3', owner: 'bob', name: 'knn', version: '2', record: record('bob', 'knn', '2') },
        { cursor: '4', owner: 'bob', name: 'gone', version: '1', deleted: true },
      ],
      next: '4',
      more: false,
    });
    expect(ops.put.map((m) => [m.dlhub.owner, m.dlhub.name, m.dlhub.version])).toEqual([['bob', 'knn', '2']]);
    expect(ops.remove).toEqual([{ servable: 'alice/iris', version: '1' }, { servable: 'bob/gone', version: '1' }]);
    expect(ops.skipped).toBe(0);
  });

  it('leave out a record whose metadata the catalog refuses, and drop any older copy of it', () => {
    const broken = { ...record('alice', 'bad', '1'), metadata: { dlhub: { name: 'bad' } } };
    const ops = pageOps({ changes: [{ cursor: '1', owner: 'alice', name: 'bad', version: '1', record: broken }], next: '1', more: false });
    expect(ops).toMatchObject({ put: [], skipped: 1, remove: [{ servable: 'alice/bad', version: '1' }] });
  });
});

/**
 * DLHub compatibility corpus: documents shaped as DLHub's SDK writes them, and records as
 * DLHub's search service returns them (test/fixtures/dlhub/README.md says where each came from).
 * Every document loads; those whose libraries exist here build and run with the model's own
 * answers; the others fail with the clear "library not in the image" error (their library is hidden
 * from the runner's Python, so the test does not depend on what this machine happens to lack).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../main/catalog/catalog.js';
import { normalizeDlhubRecord, normalizeTimestamp } from '../../main/catalog/dlhub-record.js';
import { MAX_RECORD_DEPTH } from '../../main/catalog/record-depth.js';
import { MetadataError, WorkerError } from '../../main/errors.js';
import { prepareContext } from '../../main/packager/context.js';
import { HostRuntime } from '../../main/runtime/host.js';
import { NdArray } from '../../main/runtime/protocol/values.js';
import { exportForDlhub } from '../../main/servable/dlhub-export.js';
import { servableFile } from '../../main/servable/servable-files.js';
import { loadMetadataFile, validateMetadata } from '../../main/servable/validate.js';
import type { ServableMetadata } from '../../main/servable/metadata.js';
import { homePaths, type HomePaths } from '../../main/storage/home.js';
import { json, runCli } from '../helpers/cli.js';

const CORPUS = fileURLToPath(new URL('../fixtures/dlhub', import.meta.url));
const DOCS = join(CORPUS, 'documents');
// Debian's Python has numpy and scikit-learn 1.2.1 (as the base image); `python3` on PATH may not.
const SYSTEM_PYTHON = '/usr/bin/python3';

interface Expected { method: string; input: unknown; output: unknown; also?: Record<string, { input: unknown; output: unknown }> }
const RUNNABLE = ['iris_svm', 'sklearn_regressor', 'python_static', 'python_class'];
const MISSING_LIBRARY: Record<string, string> = { keras_model: 'tensorflow', torch_model: 'torch', tensorflow_model: 'tensorflow' };

let tmp: string;
let home: HomePaths;
let runtime: HostRuntime;
/** Debian's Python with the libraries of MISSING_LIBRARY hidden: each import fails as for a library that is not installed. */
let pythonWithout: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlhub-compat-'));
  home = homePaths(join(tmp, 'home'));
  runtime = new HostRuntime({ runDir: join(tmp, 'run'), logDir: join(tmp, 'logs') });
  const hidden = join(tmp, 'hidden-libraries');
  mkdirSync(hidden);
  for (const lib of new Set(Object.values(MISSING_LIBRARY))) writeFileSync(join(hidden, `${lib}.py`), `raise ModuleNotFoundError("No module named '${lib}'", name='${lib}')\n`);
  pythonWithout = join(tmp, 'python-without-frameworks');
  writeFileSync(pythonWithout, `#!/bin/sh\nPYTHONPATH='${hidden}' exec ${SYSTEM_PYTHON} "$@"\n`);
  chmodSync(pythonWithout, 0o755);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function plain(value: unknown): unknown {
  return value instanceof NdArray ? value.toJSON() : value;
}

function expectClose(actual: unknown, expected: unknown): void {
  if (typeof expected === 'number') {
    expect(actual).toBeCloseTo(expected, 9);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual) && actual.length === expected.length).toBe(true);
    expected.forEach((e, i) => expectClose((actual as unknown[])[i], e));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort()).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], v);
  } else {
    expect(actual).toEqual(expected);
  }
}

const lines = (file: string): unknown[] => readFileSync(join(CORPUS, 'records', file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);

describe('documents as DLHub SDK shims write them', () => {
  it('the corpus holds one document per SDK shim', () => {
    const shims = readdirSync(DOCS).map((d) => (JSON.parse(readFileSync(join(DOCS, d, 'dlhub.json'), 'utf8')) as { servable: { shim: string } }).servable.shim);
    expect(new Set(shims)).toEqual(new Set([
      'sklearn.ScikitLearnServable', 'python.PythonStaticMethodServable', 'python.PythonClassMethodServable',
      'keras.KerasServable', 'torch.TorchServable', 'tensorflow.TensorFlowServable',
    ]));
  });

  for (const doc of [...RUNNABLE, ...Object.keys(MISSING_LIBRARY)]) {
    it(`${doc}: loads, builds (host files) and ${RUNNABLE.includes(doc) ? "runs with the model's own answers" : 'fails naming the library not in the image'}`, async () => {
      const dir = join(DOCS, doc);
      const md = loadMetadataFile(join(dir, 'dlhub.json'));
      const ctx = await prepareContext(dir, md, { home, baseImage: 'python:3.11-slim' });
      const model = servableFile(md, 'model') ?? servableFile(md, 'pickle');
      if (model !== undefined) expect(ctx.files).toContain(`servable/${model}`);
      const spec = { runtime: 'host' as const, name: md.dlhub.name, servableDir: join(ctx.dir, 'servable'), runnerDir: join(ctx.dir, 'runner'), python: SYSTEM_PYTHON };
      if (!RUNNABLE.includes(doc)) {
        const err = await runtime.start({ ...spec, python: pythonWithout }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WorkerError);
        expect((err as WorkerError).message).toContain(`'${MISSING_LIBRARY[doc]}'`);
        expect((err as WorkerError).message).toMatch(/not installed.*must be in the image/);
        return;
      }
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const worker = await runtime.start(spec);
      try {
        expectClose(plain((await worker.connection.run(expected.method, expected.input)).output), expected.output);
      } finally {
        await worker.stop();
      }
    });
  }

  it('the model file may be named at dlhub.files.model (as the SDK writes it) or at servable.files.model', () => {
    const sdk = loadMetadataFile(join(DOCS, 'iris_svm', 'dlhub.json'));
    const older = loadMetadataFile(join(DOCS, 'sklearn_regressor', 'dlhub.json'));
    expect(sdk.dlhub.files?.model).toBe('model.pkl');
    expect(older.servable.files?.model).toBe('model.pkl');
    expect(servableFile(sdk, 'model')).toBe('model.pkl');
    expect(servableFile(older, 'model')).toBe('model.pkl');
    const none = structuredClone(sdk);
    delete none.dlhub.files;
    expect(() => validateMetadata(none)).toThrow(/dlhub\.files\.model is required/);
  });
});

describe('records as DLHub search service returns them', () => {

  it('normalizes timestamps in seconds or milliseconds, as numbers or strings', () => {
    expect(normalizeTimestamp('1558380327181')).toBe(1558380327181);
    expect(normalizeTimestamp(1535125163)).toBe(1535125163000);
    expect(normalizeTimestamp('1558380327.5')).toBe(1558380327500);
    expect(normalizeTimestamp('soon')).toBeUndefined();
    expect(normalizeTimestamp(-1)).toBeUndefined();
  });

  it('each record is kept whole, normalized, and passes the published schema once the service fields are set aside', () => {
    for (const raw of lines('search-records.jsonl')) {
      const rec = normalizeDlhubRecord(raw);
      validateMetadata(rec.strict);
      const stored = rec.stored as { dlhub: Record<string, unknown>; datacite: Record<string, unknown> };
      expect(typeof stored.dlhub['publication_date']).toBe('number');
      expect(stored.dlhub['owner']).toMatch(/_globusid$/);
      expect(JSON.stringify(rec.stored)).not.toContain('"None"');
      if ('publicationYear' in stored.datacite) expect(stored.datacite['publicationYear']).toMatch(/^\d{4}$/);
    }
  });

  it('catalog import takes every record, keeps the fields the service added, and files each under owner/name', async () => {
    mkdirSync(join(tmp, 'catalog-home'), { recursive: true });
    const catalog = Catalog.open(homePaths(join(tmp, 'catalog-home')));
    try {
      const report = await catalog.import(join(CORPUS, 'records', 'search-records.jsonl'));
      expect(report.errors).toEqual([]);
      expect(report.imported).toBe(4);
      const iris = catalog.get('dlhub_globusid/iris_svm');
      expect(iris).toBeDefined();
      const dlhub = iris!.metadata.dlhub as unknown as Record<string, unknown>;
      expect(dlhub['ecr_uri']).toBe('039706667969.dkr.ecr.us-east-1.amazonaws.com/5c1d9ab1-6c4f-4bd2-9e7b-0a8d1f1a2b3c');
      expect(dlhub['funcx_id']).toBe('6e2a2f0c-4b53-4a35-8d9c-7d2b0a9e5f11');
      expect(dlhub['build_location']).toBeDefined();
      expect(dlhub['user_id']).toBe('3');
      expect(dlhub['publication_date']).toBe(1558380327181);
      expect(iris!.metadata.datacite.publicationYear).toBeUndefined();
      expect(iris!.metadata.servable.methods['run']?.input?.shape).toEqual([null, 4]);
      // No owner in the record: shorthand_name gives it.
      expect(catalog.get('blaiszik_globusid/noop')?.metadata.dlhub.publication_date).toBe(1535125163000);
      expect(catalog.get('cherukara_globusid/ptychonn')?.metadata.servable.type).toBe('Torch Model');
      const keras = catalog.get('loganw_globusid/oqmd_model')!.metadata.servable.methods;
      expect(keras['run']?.input?.shape).toEqual([null, 145]);
      expect(keras['predict_batch']?.input?.item_type).toEqual({ type: 'string' });
      // The year is unknown, not 0 or NaN, and the record is found by search.
      expect(catalog.search('scikit').hits.map((h) => h.servable)).toContain('dlhub_globusid/iris_svm');
    } finally {
      catalog.close();
    }
  });

  it('refuses only records that cannot be indexed (no name, no type), naming the field and a fix', async () => {
    for (const [raw, field] of lines('unindexable-records.jsonl').map((r, i) => [r, ['dlhub.name', 'servable.type'][i]] as const)) {
      const err = (() => {
        try {
          normalizeDlhubRecord(raw);
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(MetadataError);
      expect((err as MetadataError).problems[0]).toMatchObject({ field });
      expect((err as MetadataError).problems[0]?.fix).not.toBe('');
    }
    mkdirSync(join(tmp, 'catalog-bad'), { recursive: true });
    const catalog = Catalog.open(homePaths(join(tmp, 'catalog-bad')));
    try {
      const report = await catalog.import(join(CORPUS, 'records', 'unindexable-records.jsonl'));
      expect(report.imported).toBe(0);
      expect(report.errors.map((e) => [e.line, e.problems[0]?.field])).toEqual([[1, 'dlhub.name'], [2, 'servable.type']]);
    } finally {
      catalog.close();
    }
  });
});

describe('liberal import never fails untyped (fuzz)', () => {
  it('any JSON value, or a record with fields replaced by any JSON, is normalized or refused with MetadataError', () => {
    const base = lines('search-records.jsonl')[0] as Record<string, Record<string, unknown>>;
    const field = fc.constantFrom('dlhub.name', 'dlhub.publication_date', 'dlhub.shorthand_name', 'dlhub.owner', 'datacite.publicationYear', 'datacite.titles', 'datacite.creators', 'servable.type', 'servable.shim', 'servable.methods', 'dlhub', 'servable');
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.tuple(field, fc.jsonValue()).map(([path, value]) => {
      const rec = structuredClone(base);
      const [block, key] = path.split('.') as [string, string | undefined];
      if (key === undefined) (rec as Record<string, unknown>)[block] = value;
      else rec[block]![key] = value;
      return rec;
    })), (doc) => {
      try {
        validateMetadata(normalizeDlhubRecord(doc).strict);
      } catch (err) {
        expect(err).toBeInstanceOf(MetadataError);
      }
    }), { numRuns: 400 });
  });

  it('a deeply nested record is refused with a typed error naming the limit, not a stack overflow', () => {
    let t: Record<string, unknown> = { type: 'float' };
    for (let i = 0; i < 20_000; i++) t = { type: 'list', item_type: t };
    const rec = structuredClone(lines('search-records.jsonl')[0]) as { servable: { methods: { run: { input: unknown } } } };
    rec.servable.methods.run.input = t;
    expect(() => normalizeDlhubRecord(rec)).toThrow(MetadataError);
    expect(() => normalizeDlhubRecord(rec)).toThrow(new RegExp(`nested more than ${MAX_RECORD_DEPTH} levels`));
  });
});

// A servable named "a.." built and listed but could not be run, described or removed.
describe('one name rule from build to rm (CLI, host runtime)', () => {
  it('a servable named "a.." builds, lists, runs, describes and is removed', async () => {
    const src = join(tmp, 'dotdot');
    cpSync(fileURLToPath(new URL('../../examples/function', import.meta.url)), src, { recursive: true });
    const md = JSON.parse(readFileSync(join(src, 'dlhub.json'), 'utf8')) as ServableMetadata;
    md.dlhub.name = 'a..';
    writeFileSync(join(src, 'dlhub.json'), JSON.stringify(md));
    const env = { DLHUB_HOME: join(tmp, 'dotdot-home'), DLHUB_PYTHON: SYSTEM_PYTHON };
    const built = await runCli(['build', src, '--runtime', 'host', '--json'], env);
    expect(json<{ name: string }>(built).name).toBe('a..');
    expect(json<{ name: string }[]>(await runCli(['ls', '--json'], env)).map((s) => s.name)).toEqual(['a..']);
    const ran = json<{ output: Record<string, unknown> }>(await runCli(['run', 'a..', '--input', '[1, 2, 3]', '--runtime', 'host', '--json'], env));
    expect(ran.output).toBeDefined();
    expect(json<{ name: string }>(await runCli(['describe', 'a..', '--json'], env)).name).toBe('a..');
    expect((await runCli(['rm', 'a..'], env)).code).toBe(0);
    expect(json<unknown[]>(await runCli(['ls', '--json'], env))).toEqual([]);
    // The home's servables folder is intact: "a.." never resolved to its parent.
    expect(existsSync(join(tmp, 'dotdot-home', 'servables'))).toBe(true);
  });
});

describe('export for DLHub', () => {
  it('every corpus document exports to DLHub\'s published shape only, valid in strict mode', () => {
    for (const doc of readdirSync(DOCS)) {
      const md = loadMetadataFile(join(DOCS, doc, 'dlhub.json'));
      md.dlhub.network = false;
      md.servable.deterministic = true;
      const out = exportForDlhub(md);
      validateMetadata(out);
      expect(out.dlhub).not.toHaveProperty('network');
      expect(out.servable).not.toHaveProperty('deterministic');
      writeFileSync(join(tmp, `${doc}.export.json`), JSON.stringify(out));
    }
  });
});

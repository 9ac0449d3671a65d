// At the CLI: input files are read with the limit enforced while reading, and
// text from outside never reaches the terminal with its control sequences.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBatchFile, parseInput, readBounded } from '../../../main/cli/commands/parse.js';
import { makeOutput, reportError, safeText } from '../../../main/cli/output.js';
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

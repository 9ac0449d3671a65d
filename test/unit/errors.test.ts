import { describe, expect, it } from 'vitest';
import {
  DlhubError, LimitError, MetadataError, ModelError, NotFoundError, QueryError, RuntimeUnavailableError, TaskError, UsageError, WorkerError,
  errorFromJSON, isErrorCode, toDlhubError,
} from '../../main/errors.js';

/** What a door does: the error's wire shape, through JSON text, back into a class. */
function roundTrip(err: DlhubError): DlhubError {
  return errorFromJSON(JSON.parse(JSON.stringify(err.toJSON())));
}

describe('error registry', () => {
  it('rebuilds each family as its own class with code, message and hint', () => {
    const cases: [DlhubError, new (...a: never[]) => DlhubError][] = [
      [new NotFoundError('SERVABLE_NOT_FOUND', 'No servable "x".', { hint: 'dlhub ls' }), NotFoundError],
      [new WorkerError('RUNNER_DIED', 'died', { hint: 'h' }), WorkerError],
      [new LimitError('RATE_LIMITED', '20 calls in 10 s', { hint: 'DLHUB_RATE_LIMIT=off' }), LimitError],
      [new TaskError('TASK_NOT_FOUND', 'no task', { hint: 'dlhub tasks' }), TaskError],
      [new UsageError('USAGE', 'bad', { hint: 'h' }), UsageError],
    ];
    for (const [err, cls] of cases) {
      const back = roundTrip(err);
      expect(back).toBeInstanceOf(cls);
      expect(back.code).toBe(err.code);
      expect(back.message).toBe(err.message);
      expect(back.hint).toBe(err.hint);
    }
  });

  it('keeps a ModelError\'s Python type, message, traceback and extra details (a pipeline step)', () => {
    const err = new ModelError('ValueError', 'bad formula "Xx2"', 'Traceback ...');
    const withStep = Object.assign(err, { details: { ...err.details, step: 0, stepServable: 'fe-parse' } });
    const back = roundTrip(withStep);
    expect(back).toBeInstanceOf(ModelError);
    const m = back as ModelError;
    expect(m.pythonType).toBe('ValueError');
    expect(m.message).toBe('ValueError: bad formula "Xx2"');
    expect(m.traceback).toBe('Traceback ...');
    expect(m.details).toMatchObject({ step: 0, stepServable: 'fe-parse', type: 'ValueError' });
  });

  it('keeps metadata problems, query positions and runtime hints', () => {
    const meta = roundTrip(new MetadataError('bad', [{ field: 'dlhub.name', rule: 'pattern', message: 'm', fix: 'f' }]));
    expect(meta).toBeInstanceOf(MetadataError);
    expect((meta as MetadataError).problems[0]?.field).toBe('dlhub.name');
    const q = roundTrip(new QueryError('expected )', 7, 'close the parenthesis'));
    expect(q).toBeInstanceOf(QueryError);
    expect((q as QueryError).position).toBe(7);
    const r = roundTrip(new RuntimeUnavailableError('no docker', 'use --runtime host'));
    expect(r).toBeInstanceOf(RuntimeUnavailableError);
    expect(r.hint).toBe('use --runtime host');
  });

  it('turns an unknown code or a foreign error into INTERNAL, never an untyped error', () => {
    expect(isErrorCode('toString')).toBe(false);
    expect(errorFromJSON({ code: 'NOT_A_CODE', message: 'x' }).code).toBe('INTERNAL');
    expect(errorFromJSON({ code: '__proto__', message: 'x' }).code).toBe('INTERNAL');
    const wrapped = toDlhubError(new RangeError('Maximum call stack size exceeded'));
    expect(wrapped).toBeInstanceOf(DlhubError);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toContain('Maximum call stack');
  });
});

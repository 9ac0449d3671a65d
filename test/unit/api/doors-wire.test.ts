// The wire of the socket and HTTP transports: NDJSON lines read back whatever way the bytes were cut,
// requests built from the table's routes, and the answer in parts handed over in order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ndjsonLines, wireRequest } from '../../../main/api/doors/wire.js';
import { answerFromParts, itemsFromParts } from '../../../main/api/doors/client.js';
import { InputError, ModelError, UsageError } from '../../../main/errors.js';

async function* from<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('NDJSON lines', () => {
  it('reads the same objects however the text is cut into chunks (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }), fc.array(fc.nat(40), { maxLength: 12 }), async (values, cuts) => {
        const text = values.map((v) => `${JSON.stringify(v)}\n`).join('');
        const chunks: string[] = [];
        let at = 0;
        for (const cut of cuts) {
          chunks.push(text.slice(at, at + cut));
          at += cut;
        }
        chunks.push(text.slice(at));
        // JSON cannot tell -0 from 0: compare as the wire does.
        expect(await all(ndjsonLines(from(chunks)))).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: 200 },
    );
  });

  it('reads a last line without its newline and skips blank lines', async () => {
    expect(await all(ndjsonLines(from(['{"a":1}\n\n', '  \n{"b"', ':2}'])))).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('requests from the table', () => {
  it('puts path fields in the path, the rest in the query (GET) or the JSON body (POST)', () => {
    expect(wireRequest('getResult', { id: 'a b', waitMs: 5 }, false)).toMatchObject({ method: 'GET', path: '/v1/tasks/a%20b/result?waitMs=5', body: undefined, parts: false });
    const run = wireRequest('runServable', { name: 'x', input: [1] }, false);
    expect(run).toMatchObject({ method: 'POST', path: '/v1/servables/x/run', parts: false });
    expect(JSON.parse(run.body ?? '')).toEqual({ input: [1] });
  });

  it('asks for NDJSON for a stream, and for progress only when someone listens', () => {
    expect(wireRequest('watchTasks', {}, false)).toMatchObject({ parts: true, headers: { accept: 'application/x-ndjson' } });
    expect(wireRequest('buildServable', { dir: '/d' }, true).parts).toBe(true);
    expect(wireRequest('buildServable', { dir: '/d' }, false).parts).toBe(false);
  });

  it('refuses a missing path field and a number JSON cannot carry, before sending', () => {
    expect(() => wireRequest('getTask', {}, false)).toThrow(UsageError);
    expect(() => wireRequest('runServable', { name: 'x', input: Number.POSITIVE_INFINITY }, false)).toThrow(InputError);
  });
});

describe('answers in parts', () => {
  it('hands progress to the listener in order, then answers the result', async () => {
    const heard: string[] = [];
    const result = await answerFromParts(from([{ progress: { message: 'a' } }, { progress: { message: 'b' } }, { result: { ok: 1 } }]), (e) => heard.push(e.message));
    expect(heard).toEqual(['a', 'b']);
    expect(result).toEqual({ ok: 1 });
  });

  it('re-raises a typed error line as its class, and a cut answer as SERVICE_UNAVAILABLE', async () => {
    const failed = answerFromParts(from([{ error: { code: 'MODEL_ERROR', message: 'ValueError: no', details: { type: 'ValueError', traceback: 't' } } }]), undefined);
    await expect(failed).rejects.toBeInstanceOf(ModelError);
    await expect(answerFromParts(from([{ progress: {} }]), undefined)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await expect(all(itemsFromParts(from([{ item: 1 }])))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('yields stream items until the last line', async () => {
    const items = await all(itemsFromParts(from([{ item: 1 }, { item: { $bytes: 'AAE=' } }, { result: null }])));
    expect(items[0]).toBe(1);
    expect([...(items[1] as Uint8Array)]).toEqual([0, 1]);
    expect(items).toHaveLength(2);
  });
});

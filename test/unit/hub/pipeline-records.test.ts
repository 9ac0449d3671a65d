// Pipelines at the hub: a record with no image whose steps are pinned OWNER/NAME@VERSION versions
// that exist and that the publisher may see. What the publisher may not see is refused as what does
// not exist; a servable still needs its image; a pipeline takes none; a pipeline cannot pin itself.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubService, type HubService } from '../../../hub/service.js';
import { openStore } from '../../../hub/store/open.js';
import type { HubStore } from '../../../hub/store/store.js';
import { parseStepRef, pinnedSteps } from '../../../hub/pipeline-steps.js';
import { NotFoundError, UsageError } from '../../../main/errors.js';
import { tempDir } from '../../helpers/home.js';

const work = tempDir('dlhub-hub-pipelines-');
let store: HubStore;
let hub: HubService;
const as = (user: string) => ({ caller: { user } });
const digest = `sha256:${'1'.repeat(64)}`;

function servableMd(name: string): Record<string, unknown> {
  return { datacite: { titles: [{ title: name }] }, dlhub: { name }, servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', methods: { run: {} } } };
}

function pipelineMd(name: string, steps: string[]): Record<string, unknown> {
  return { datacite: { titles: [{ title: name }] }, dlhub: { name, type: 'pipeline' }, servable: { type: 'pipeline', steps: steps.map((servable) => ({ servable })), methods: { run: {} } } };
}

beforeAll(async () => {
  store = await openStore(work.path);
  for (const u of ['alice', 'bob', 'carol']) await store.addUser({ name: u, passwordHash: null, clientId: null, secretHash: null }, 0);
  await store.addGroup('lab', 'alice', 0);
  await store.join('lab', 'bob');
  hub = createHubService({ store, registryAddress: undefined, signer: undefined });
  await hub.publish({ metadata: servableMd('parse'), image: { repository: 'alice/parse', digest }, visibility: { groups: ['lab'] } }, as('alice'));
  await hub.publish({ metadata: servableMd('score'), image: { repository: 'alice/score', digest }, visibility: 'private' }, as('alice'));
});

afterAll(async () => {
  await store.close();
  work.remove();
});

describe('pipeline records', () => {
  it('publishes a pipeline with no image, its steps pinned; the record answers no image and the steps as sent', async () => {
    const r = await hub.publish({ metadata: pipelineMd('flow', ['alice/parse@1', 'alice/score@1']) }, as('alice'));
    expect(r).toEqual({ owner: 'alice', name: 'flow', version: '1', created: true });
    const rec = await hub.getVersion({ owner: 'alice', name: 'flow', version: '1' }, as('alice'));
    expect(rec.image).toBeUndefined();
    expect((rec.metadata['servable'] as { steps: { servable: string }[] }).steps.map((s) => s.servable)).toEqual(['alice/parse@1', 'alice/score@1']);
    // The same content again is the same version.
    expect(await hub.publish({ metadata: pipelineMd('flow', ['alice/parse@1', 'alice/score@1']) }, as('alice'))).toMatchObject({ version: '1', created: false });
  });

  it('refuses a step the publisher may not see exactly as one that does not exist', async () => {
    const hidden = await hub.publish({ metadata: pipelineMd('mine', ['alice/score@1']) }, as('bob')).catch((e: unknown) => e);
    const missing = await hub.publish({ metadata: pipelineMd('mine', ['alice/nothing@1']) }, as('bob')).catch((e: unknown) => e);
    for (const err of [hidden, missing]) {
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).message).toMatch(/^Pipeline bob\/mine step 1 is alice\/(score|nothing)@1, which does not exist or which you may not see\.$/);
    }
    // A group member may pin a step shared with the group.
    expect(await hub.publish({ metadata: pipelineMd('mine', ['alice/parse@1']) }, as('bob'))).toMatchObject({ owner: 'bob', name: 'mine', created: true });
    const withdrawn = await hub.publish({ metadata: pipelineMd('mine', ['alice/parse@9']) }, as('bob')).catch((e: unknown) => e);
    expect(withdrawn).toBeInstanceOf(NotFoundError);
  });

  it('a servable needs its image, a pipeline takes none, steps must be pinned and not the pipeline itself', async () => {
    const cases: [Record<string, unknown>, boolean, RegExp][] = [
      [servableMd('noimage'), false, /is not a pipeline, so it needs its image/],
      [pipelineMd('withimage', ['alice/parse@1']), true, /is a pipeline: its steps run in their own images/],
      [pipelineMd('loose', ['parse']), false, /steps\[0\]\.servable is "parse", not a pinned OWNER\/NAME@VERSION/],
      [pipelineMd('latest', ['alice/parse']), false, /not a pinned/],
      [pipelineMd('self', ['alice/self@1']), false, /is the pipeline alice\/self itself/],
      [pipelineMd('empty', []), false, /needs 1 to 32 steps/],
      [pipelineMd('long', Array.from({ length: 33 }, () => 'alice/parse@1')), false, /needs 1 to 32 steps/],
    ];
    for (const [metadata, image, message] of cases) {
      const err = await hub.publish({ metadata, ...(image ? { image: { repository: 'alice/x', digest } } : {}) }, as('alice')).catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('reads step references strictly (fuzz): OWNER/NAME@VERSION of hub names, no "..", nothing around them', () => {
    expect(parseStepRef('alice/parse@1.0.0')).toEqual({ owner: 'alice', name: 'parse', version: '1.0.0' });
    for (const bad of ['alice/parse', 'alice/../x@1', 'Alice/parse@1', 'alice/parse@1 ', '/parse@1', 'a/b/c@1', 'alice/parse@..1']) expect(parseStepRef(bad), bad).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => {
      const r = parseStepRef(s);
      return r === undefined || (`${r.owner}/${r.name}@${r.version}` === s && !s.includes('..') && !/[\s\0]/.test(s));
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.anything(), (steps) => {
      try {
        pinnedSteps({ servable: { steps } }, { owner: 'a', name: 'b' });
        return Array.isArray(steps);
      } catch (err) {
        return err instanceof UsageError;
      }
    }), { numRuns: 1000 });
  });
});

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- answers are read as loose JSON; the assertions check their shapes */
// The hub's API over HTTP, as the desktop and scripts call it: accounts and tokens (expiry,
// revocation, client credentials), visibility and groups, immutable versions and idempotency, the
// change feed with tombstones and paging, and the limits on request size and rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tempDir } from '../helpers/home.js';
import { startHub, type RunningHub } from '../../hub/server.js';
import { hashPassword, hashSecret } from '../../hub/secrets.js';
import { buildHubOpenApi } from '../../hub/openapi.js';

interface Answer {
  status: number;
  body: { result?: any; error?: { code: string; message: string; hint?: string } };
  headers: Headers;
}

const home = tempDir('dlhub-hub-api-');
let hub: RunningHub;
let clock = Date.now();

async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'], headers: res.headers };
}

async function login(user: string, password = `${user}-pw`): Promise<string> {
  const a = await call('POST', '/v1/auth/token', undefined, { user, password });
  expect(a.status).toBe(200);
  return a.body.result.token as string;
}

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
function publishBody(name: string, over: Record<string, unknown> = {}, dlhub: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { datacite: { title: name }, dlhub: { name, ...dlhub } }, image: { repository: `alice/${name}`, digest: digest('a') }, ...over };
}

let alice: string;
let bob: string;
let carol: string;

beforeAll(async () => {
  hub = await startHub({ home: home.path, port: 0, registry: 'none', now: () => clock, ratePerMinute: 0 });
  for (const u of ['alice', 'bob', 'carol']) await hub.store.addUser({ name: u, passwordHash: await hashPassword(`${u}-pw`), clientId: null, secretHash: null }, clock);
  await hub.store.addUser({ name: 'robot', passwordHash: null, clientId: 'dlhc_robot', secretHash: hashSecret('dlhs_secret') }, clock);
  await hub.store.addGroup('lab', 'alice', clock);
  await hub.store.join('lab', 'bob');
  [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
});

afterAll(async () => {
  await hub.stop();
  home.remove();
});

describe('accounts and tokens', () => {
  it('trades a password for a token that names its user and groups', async () => {
    const a = await call('POST', '/v1/auth/token', undefined, { user: 'alice', password: 'alice-pw' });
    expect(a.body.result).toMatchObject({ user: 'alice' });
    expect(a.body.result.token).toMatch(/^dlh_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(a.body.result.expiresAt)).toBeGreaterThan(clock);
    expect((await call('GET', '/v1/whoami', a.body.result.token)).body.result).toEqual({ user: 'alice', groups: ['lab'] });
    expect((await call('GET', '/v1/whoami', bob)).body.result).toEqual({ user: 'bob', groups: ['lab'] });
  });

  it('refuses a wrong password or an unknown user alike, with 401', async () => {
    for (const body of [{ user: 'alice', password: 'nope' }, { user: 'nobody', password: 'x' }]) {
      const a = await call('POST', '/v1/auth/token', undefined, body);
      expect(a.status).toBe(401);
      expect(a.body.error?.code).toBe('UNAUTHORIZED');
      expect(a.body.error?.hint).toBeTruthy();
    }
  });

  it('signs in a headless client with its client id and secret', async () => {
    const a = await call('POST', '/v1/auth/token', undefined, { clientId: 'dlhc_robot', clientSecret: 'dlhs_secret' });
    expect(a.body.result.user).toBe('robot');
    expect((await call('POST', '/v1/auth/token', undefined, { clientId: 'dlhc_robot', clientSecret: 'wrong' })).status).toBe(401);
  });

  it('stops honouring a token once revoked: it can do nothing, not even read public records', async () => {
    const token = await login('carol');
    expect((await call('DELETE', '/v1/auth/token', token)).body.result).toEqual({ revoked: true });
    for (const [m, p] of [['GET', '/v1/whoami'], ['GET', '/v1/changes'], ['GET', '/v1/servables/alice/x']]) {
      const a = await call(m as string, p as string, token);
      expect(a.status).toBe(401);
      expect(a.body.error?.code).toBe('UNAUTHORIZED');
    }
    expect((await call('GET', '/v1/whoami', carol)).status).toBe(200);
  });

  it('stops honouring a token after it expires', async () => {
    const a = await call('POST', '/v1/auth/token', undefined, { user: 'carol', password: 'carol-pw', ttlSeconds: 60 });
    const token = a.body.result.token as string;
    expect((await call('GET', '/v1/whoami', token)).status).toBe(200);
    clock += 61_000;
    expect((await call('GET', '/v1/whoami', token)).status).toBe(401);
    expect((await call('GET', '/v1/whoami', carol)).status).toBe(200);
  });

  it('needs a token for whoami, publish and logout', async () => {
    expect((await call('GET', '/v1/whoami')).status).toBe(401);
    expect((await call('POST', '/v1/servables', undefined, publishBody('x'))).status).toBe(401);
    expect((await call('DELETE', '/v1/auth/token')).status).toBe(401);
  });

  it('slows down guessing: the eleventh failed sign-in in a minute answers 429', async () => {
    await hub.store.addUser({ name: 'dave', passwordHash: await hashPassword('dave-pw'), clientId: null, secretHash: null }, clock);
    for (let i = 0; i < 10; i++) expect((await call('POST', '/v1/auth/token', undefined, { user: 'dave', password: 'guess' })).status).toBe(401);
    const a = await call('POST', '/v1/auth/token', undefined, { user: 'dave', password: 'dave-pw' });
    expect(a.status).toBe(429);
    expect(a.body.error?.code).toBe('RATE_LIMITED');
    clock += 61_000;
    expect((await call('POST', '/v1/auth/token', undefined, { user: 'dave', password: 'dave-pw' })).status).toBe(200);
  });
});

describe('publishing and visibility', () => {
  it('publishes private by default: the owner sees it, another user and anonymous get 404 as for nothing', async () => {
    const a = await call('POST', '/v1/servables', alice, publishBody('secret'));
    expect(a.body.result).toEqual({ owner: 'alice', name: 'secret', version: '1', created: true });
    const mine = await call('GET', '/v1/servables/alice/secret', alice);
    expect(mine.body.result).toMatchObject({ owner: 'alice', name: 'secret', version: '1', visibility: 'private', image: { repository: 'alice/secret', digest: digest('a') } });
    for (const token of [bob, undefined]) {
      for (const path of ['/v1/servables/alice/secret', '/v1/servables/alice/secret/versions/1', '/v1/servables/alice/never']) {
        const other = await call('GET', path, token);
        expect(other.status).toBe(404);
        expect(other.body.error?.code).toBe('NOT_FOUND');
      }
    }
    expect((await call('GET', '/v1/servables', bob)).body.result.servables.map((s: { name: string }) => s.name)).not.toContain('secret');
  });

  it('shares with a group: members see it, others still do not; only the owner may change who sees it', async () => {
    await call('POST', '/v1/servables', alice, publishBody('shared'));
    expect((await call('POST', '/v1/servables/alice/shared/share', bob, { group: 'lab' })).status).toBe(404);
    const shared = await call('POST', '/v1/servables/alice/shared/share', alice, { group: 'lab' });
    expect(shared.body.result.visibility).toEqual({ groups: ['lab'] });
    expect((await call('GET', '/v1/servables/alice/shared', bob)).body.result.name).toBe('shared');
    expect((await call('GET', '/v1/servables/alice/shared', carol)).status).toBe(404);
    expect((await call('GET', '/v1/servables/alice/shared')).status).toBe(404);
    const refused = await call('PUT', '/v1/servables/alice/shared/visibility', bob, { visibility: 'public' });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('FORBIDDEN');
    expect((await call('POST', '/v1/servables/alice/shared/share', alice, { group: 'no-such-group' })).status).toBe(404);
  });

  it('makes a name public for everyone, anonymous included, and private again', async () => {
    await call('POST', '/v1/servables', alice, publishBody('open'));
    await call('PUT', '/v1/servables/alice/open/visibility', alice, { visibility: 'public' });
    expect((await call('GET', '/v1/servables/alice/open')).body.result.visibility).toBe('public');
    expect((await call('GET', '/v1/servables?q=open')).body.result.servables.map((s: { name: string }) => s.name)).toEqual(['open']);
    await call('PUT', '/v1/servables/alice/open/visibility', alice, { visibility: 'private' });
    expect((await call('GET', '/v1/servables/alice/open')).status).toBe(404);
  });

  it('keeps versions immutable: same content answers the same version, new content a new one, a taken version is refused', async () => {
    const first = await call('POST', '/v1/servables', alice, publishBody('fixed', {}, { version: '1.0' }));
    expect(first.body.result).toEqual({ owner: 'alice', name: 'fixed', version: '1.0', created: true });
    const same = await call('POST', '/v1/servables', alice, publishBody('fixed', {}, { version: '1.0' }));
    expect(same.body.result).toEqual({ owner: 'alice', name: 'fixed', version: '1.0', created: false });
    const taken = await call('POST', '/v1/servables', alice, publishBody('fixed', { image: { repository: 'alice/fixed', digest: digest('b') } }, { version: '1.0' }));
    expect(taken.status).toBe(409);
    expect(taken.body.error?.code).toBe('CONFLICT');
    const next = await call('POST', '/v1/servables', alice, publishBody('fixed', { image: { repository: 'alice/fixed', digest: digest('b') } }, { version: '1.1' }));
    expect(next.body.result.version).toBe('1.1');
    expect((await call('GET', '/v1/servables/alice/fixed', alice)).body.result.version).toBe('1.1');
    expect((await call('GET', '/v1/servables/alice/fixed/versions/1.0', alice)).body.result.image.digest).toBe(digest('a'));
  });

  it('never publishes twice under one idempotency key', async () => {
    const body = publishBody('retried', { idempotencyKey: 'outbox-42' });
    const a = await call('POST', '/v1/servables', alice, body);
    const b = await call('POST', '/v1/servables', alice, { ...publishBody('retried', { idempotencyKey: 'outbox-42' }), image: { repository: 'alice/retried', digest: digest('c') } });
    expect(a.body.result.created).toBe(true);
    expect(b.body.result).toEqual({ ...a.body.result, created: false });
    expect((await call('GET', '/v1/servables/alice/retried', alice)).body.result.image.digest).toBe(digest('a'));
  });

  it('refuses publishing under another owner\'s name (403) and names a registry could not hold (400)', async () => {
    const other = await call('POST', '/v1/servables', bob, publishBody('x', {}, { owner: 'alice' }));
    expect(other.status).toBe(403);
    expect(other.body.error?.code).toBe('FORBIDDEN');
    for (const name of ['../etc', 'a/b', 'Upper', 'tab\there', '', 'a..b']) {
      const a = await call('POST', '/v1/servables', alice, publishBody(name));
      expect(a.status).toBe(400);
      expect(a.body.error?.code).toBe('USAGE');
    }
    const badDigest = await call('POST', '/v1/servables', alice, publishBody('ok', { image: { repository: 'alice/ok', digest: 'sha256:../../etc' } }));
    expect(badDigest.status).toBe(400);
    expect((await call('GET', '/v1/servables/..%2Fetc/x', alice)).status).toBe(400);
  });

  it('lets the owner withdraw a version; the newest left answers', async () => {
    await call('POST', '/v1/servables', alice, publishBody('gone', { visibility: 'public' }));
    await call('POST', '/v1/servables', alice, publishBody('gone', { visibility: 'public', image: { repository: 'alice/gone', digest: digest('d') } }));
    expect((await call('DELETE', '/v1/servables/alice/gone/versions/2', bob)).status).toBe(403);
    expect((await call('DELETE', '/v1/servables/alice/gone/versions/2', alice)).body.result).toEqual({ owner: 'alice', name: 'gone', version: '2', deleted: true });
    expect((await call('GET', '/v1/servables/alice/gone')).body.result.version).toBe('1');
    expect((await call('GET', '/v1/servables/alice/gone/versions/2')).status).toBe(404);
  });
});

describe('the change feed', () => {
  async function feed(token: string | undefined, since: string, limit = 500): Promise<{ changes: any[]; next: string; more: boolean }> {
    const a = await call('GET', `/v1/changes?since=${since}&limit=${limit}`, token);
    expect(a.status).toBe(200);
    return a.body.result;
  }

  async function everything(token: string | undefined, since: string, limit: number): Promise<{ changes: any[]; next: string; pages: number }> {
    const all: any[] = [];
    let cursor = since;
    let pages = 0;
    for (;;) {
      const page = await feed(token, cursor, limit);
      all.push(...page.changes);
      cursor = page.next;
      pages += 1;
      if (!page.more) return { changes: all, next: cursor, pages };
    }
  }

  it('sends each caller what they may see, tombstones for what they can no longer see, in pages', async () => {
    const start = (await everything(alice, '0', 1000)).next;
    await call('POST', '/v1/servables', alice, publishBody('f-public', { visibility: 'public' }));
    await call('POST', '/v1/servables', alice, publishBody('f-lab', { visibility: { groups: ['lab'] } }));
    await call('POST', '/v1/servables', alice, publishBody('f-private'));
    const bobSees = await feed(bob, start);
    expect(bobSees.changes.map((c) => `${c.name}@${c.version}`)).toEqual(['f-public@1', 'f-lab@1']);
    expect(bobSees.changes[0].record).toMatchObject({ owner: 'alice', name: 'f-public', visibility: 'public' });
    expect(bobSees.more).toBe(false);
    const anonymous = await feed(undefined, start);
    expect(anonymous.changes.map((c) => c.name)).toEqual(['f-public']);
    const carolSees = await feed(carol, start);
    expect(carolSees.changes.map((c) => c.name)).toEqual(['f-public']);

    // Turned private: those who could see it get a tombstone; the owner gets the record as it is now.
    await call('PUT', '/v1/servables/alice/f-lab/visibility', alice, { visibility: 'private' });
    await call('DELETE', '/v1/servables/alice/f-public/versions/1', alice);
    const bobAfter = await feed(bob, bobSees.next);
    expect(bobAfter.changes).toEqual([
      { cursor: expect.any(String), owner: 'alice', name: 'f-lab', version: '1', deleted: true },
      { cursor: expect.any(String), owner: 'alice', name: 'f-public', version: '1', deleted: true },
    ]);
    expect((await feed(carol, carolSees.next)).changes.map((c) => [c.name, c.deleted ?? false])).toEqual([['f-public', true]]);
    const aliceAfter = await feed(alice, bobSees.next);
    expect(aliceAfter.changes.map((c) => [c.name, c.record?.visibility ?? 'tombstone'])).toEqual([['f-lab', 'private'], ['f-public', 'tombstone']]);

    // Paged: small pages give the same changes as one big one, and the last cursor is where to go on from.
    const big = await everything(alice, start, 1000);
    const small = await everything(alice, start, 2);
    expect(small.pages).toBeGreaterThan(2);
    expect(small.changes).toEqual(big.changes);
    expect(small.next).toBe(big.next);
    expect((await feed(alice, big.next)).changes).toEqual([]);
  });

  it('refuses a cursor that is not one', async () => {
    for (const since of ['abc', '-1', '1e3']) expect((await call('GET', `/v1/changes?since=${since}`, alice)).status).toBe(400);
    expect((await call('GET', '/v1/changes?limit=0', alice)).status).toBe(400);
  });
});

describe('the door', () => {
  it('answers /health and /openapi.json without a token; the checked-in document is current', async () => {
    expect((await call('GET', '/health')).body.result.ok).toBe(true);
    const doc = (await call('GET', '/openapi.json')).body as unknown as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/changes');
    expect(JSON.parse(readFileSync(new URL('../../schemas/hub-openapi.json', import.meta.url), 'utf8'))).toEqual(buildHubOpenApi());
  });

  it('answers an unknown path 404 and a wrong method 405 with Allow', async () => {
    expect((await call('GET', '/v1/nothing')).status).toBe(404);
    const wrong = await call('PATCH', '/v1/whoami', alice);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  it('refuses a request body over 1 MiB with 413', async () => {
    const big = publishBody('big');
    (big['metadata'] as Record<string, unknown>)['padding'] = 'x'.repeat(1024 * 1024 + 10);
    const a = await call('POST', '/v1/servables', alice, big);
    expect(a.status).toBe(413);
    expect(a.body.error?.code).toBe('INPUT_TOO_LARGE');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const a = await call('POST', '/v1/servables', alice, '{nope');
    expect(a.status).toBe(400);
    expect(a.body.error?.code).toBe('USAGE');
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the requests a minute allowed, per token', async () => {
    const limited = await startHub({ home: home.path, port: 0, registry: 'none', ratePerMinute: 5 });
    try {
      const get = (token?: string): Promise<Response> => fetch(`${limited.url}/v1/changes`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await get(alice)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const refused = await get(alice);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as Answer['body']).error?.code).toBe('RATE_LIMITED');
      expect((await get(bob)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

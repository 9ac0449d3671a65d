// The checks that stand between a name or digest from the network and a path, a tag or a registry
// scope, fuzzed: whatever they accept is one plain component (no "..", separator or control
// character) and a digest is exactly `sha256:` and 64 hex digits; the hub's and the desktop's rules
// agree where they meet; whatever they refuse is refused with a typed error.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { basename, dirname, join } from 'node:path';
import { DlhubError, PathError } from '../../../main/errors.js';
import { DIGEST_RE, digestHex, joinName } from '../../../main/storage/path-safety.js';
import { DIGEST_RE as TRANSFER_DIGEST_RE } from '../../../main/hub/image-transfer.js';
import { parsePullRef } from '../../../main/hub/pull.js';
import { hubVisibility } from '../../../main/hub/publish.js';
import { isServableName } from '../../../main/servable/names.js';
import { DIGEST_PATTERN, NAME_PATTERN, VERSION_PATTERN } from '../../../hub/contract.js';
import { TokenSigner, ensureSigningKey } from '../../../hub/registry-token.js';
import { createHubService } from '../../../hub/service.js';
import { openStore } from '../../../hub/store/open.js';
import { tempDir } from '../../helpers/home.js';

const HUB_NAME = new RegExp(NAME_PATTERN);
const HUB_VERSION = new RegExp(VERSION_PATTERN);
const HUB_DIGEST = new RegExp(DIGEST_PATTERN);
const ROOT = '/home/x/servables';

/** Characters that make names dangerous, mixed with ordinary ones. */
const nasty = fc.constantFrom('.', '..', '/', '\\', '\0', '\n', '\r', '\t', '\u001b', '\u007f', '%2e', '%2f', ':', '@', ' ', 'a', 'z', '0', '-', '_', 'A', '\u00e9', '\u202e');
const nameLike = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 80, unit: 'binary' }),
  fc.array(nasty, { maxLength: 12 }).map((parts) => parts.join('')),
);
const hex64 = fc.string({ minLength: 64, maxLength: 64, unit: fc.constantFrom(...'0123456789abcdef') });
/** Digests, near-digests and junk. */
const digestLike = fc.oneof(
  hex64.map((h) => `sha256:${h}`),
  fc.tuple(hex64, fc.integer({ min: 0, max: 70 }), fc.constantFrom('', 'A', 'g', '/', '.', '\n', ' ', '..', '0')).map(([h, at, ch]) => {
    const d = `sha256:${h}`;
    return d.slice(0, at) + ch + d.slice(at + (ch === '' ? 1 : 0));
  }),
  fc.tuple(fc.constantFrom('sha256:', 'sha512:', 'SHA256:', 'sha256', 'md5:', ''), fc.string({ maxLength: 70 })).map(([a, b]) => a + b),
);

const hasControl = (s: string): boolean => [...s].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127);
const plainComponent = (s: string): boolean => s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\\') && !hasControl(s);

describe('digest checks', () => {
  it('accept exactly sha256: and 64 lower-case hex digits, and agree with each other and the hub\'s schema', () => {
    fc.assert(fc.property(digestLike, (d) => {
      const exact = d.length === 71 && d.startsWith('sha256:') && /^[0-9a-f]+$/.test(d.slice(7));
      expect(DIGEST_RE.test(d)).toBe(exact);
      expect(TRANSFER_DIGEST_RE.test(d)).toBe(exact);
      expect(HUB_DIGEST.test(d)).toBe(exact);
      if (exact) {
        const hex = digestHex(d);
        expect(hex).toHaveLength(64);
        expect(dirname(join(ROOT, hex))).toBe(ROOT);
      } else {
        expect(() => digestHex(d)).toThrow(PathError);
      }
    }), { numRuns: 3000, seed: 15 });
  });

  it('refuse what is not a string at all', () => {
    for (const v of [undefined, null, 42, {}, ['sha256:']]) expect(() => digestHex(v as string)).toThrow(PathError);
  });
});

describe('name checks', () => {
  it('joinName gives a direct child named as asked, or refuses with PATH_UNSAFE', () => {
    fc.assert(fc.property(nameLike, (name) => {
      let out: string;
      try {
        out = joinName(ROOT, name);
      } catch (err) {
        expect(err).toBeInstanceOf(PathError);
        expect((err as PathError).code).toBe('PATH_UNSAFE');
        expect(plainComponent(name)).toBe(false);
        return;
      }
      expect(plainComponent(name)).toBe(true);
      expect(dirname(out)).toBe(ROOT);
      expect(basename(out)).toBe(name);
    }), { numRuns: 3000, seed: 16 });
  });

  it('a desktop servable name and a hub name are each one plain component, at most 64 characters', () => {
    fc.assert(fc.property(nameLike, (name) => {
      if (isServableName(name)) {
        expect(plainComponent(name)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(64);
        expect(dirname(joinName(ROOT, name))).toBe(ROOT);
      }
      if (HUB_NAME.test(name)) {
        expect(plainComponent(name)).toBe(true);
        expect(name.includes('..')).toBe(false);
        expect(name.length).toBeLessThanOrEqual(64);
        // What the hub takes, the desktop can file.
        expect(isServableName(name)).toBe(true);
      }
      if (HUB_VERSION.test(name)) {
        expect(plainComponent(name)).toBe(true);
        expect(name.includes('..')).toBe(false);
      }
    }), { numRuns: 3000, seed: 17 });
  });

  it('a pull reference parses only into names the hub and the desktop both accept', () => {
    const refLike = fc.oneof(nameLike, fc.tuple(nameLike, nameLike, fc.option(nameLike)).map(([o, n, v]) => `${o}/${n}${v === null ? '' : `@${v}`}`));
    fc.assert(fc.property(refLike, (ref) => {
      let r: ReturnType<typeof parsePullRef>;
      try {
        r = parsePullRef(ref);
      } catch (err) {
        expect(err).toBeInstanceOf(DlhubError);
        expect((err as DlhubError).code).toBe('USAGE');
        return;
      }
      expect(HUB_NAME.test(r.owner)).toBe(true);
      expect(HUB_NAME.test(r.name)).toBe(true);
      expect(isServableName(r.name)).toBe(true);
      if (r.version !== undefined) expect(HUB_VERSION.test(r.version)).toBe(true);
    }), { numRuns: 3000, seed: 18 });
  });

  it('a visibility names only a group the hub would accept', () => {
    fc.assert(fc.property(fc.oneof(nameLike, nameLike.map((g) => `group:${g}`)), (text) => {
      let v: ReturnType<typeof hubVisibility>;
      try {
        v = hubVisibility(text);
      } catch (err) {
        expect(err).toBeInstanceOf(DlhubError);
        return;
      }
      if (typeof v === 'object') for (const g of v.groups) expect(HUB_NAME.test(g)).toBe(true);
      else expect([undefined, 'public', 'private']).toContain(v);
    }), { numRuns: 3000, seed: 19 });
  });

  it('a registry token grants only OWNER/NAME of two hub names, push only on the caller\'s own', async () => {
    const home = tempDir('dlhub-hub-scope-fuzz-');
    const store = await openStore(home.path);
    try {
      await store.addUser({ name: 'alice', passwordHash: null, clientId: null, secretHash: null }, 1);
      const service = createHubService({ store, registryAddress: '127.0.0.1:9', signer: new TokenSigner(ensureSigningKey(home.path)) });
      const repo = fc.oneof(nameLike, fc.tuple(fc.constantFrom('alice', 'bob', '..', 'alice/..', ''), nameLike).map(([o, n]) => `${o}/${n}`));
      await fc.assert(fc.asyncProperty(repo, fc.constantFrom('pull', 'push', 'pull,push', '*'), async (name, actions) => {
        const answer = await service.registryToken({ service: 'dlhub-registry', scope: `repository:${name}:${actions}` }, { caller: { user: 'alice' } });
        const claims = JSON.parse(Buffer.from(answer.token.split('.')[1] as string, 'base64url').toString('utf8')) as { access: { name: string; actions: string[] }[] };
        for (const a of claims.access.filter((x) => x.actions.length > 0)) {
          const parts = a.name.split('/');
          expect(parts).toHaveLength(2);
          for (const part of parts) expect(HUB_NAME.test(part) && plainComponent(part)).toBe(true);
          if (a.actions.includes('push')) expect(parts[0]).toBe('alice');
        }
      }), { numRuns: 400, seed: 20 });
    } finally {
      await store.close();
      home.remove();
    }
  });
});

// The registry token service's parts: scopes as Docker sends them (fuzzed: never a throw, never a
// grant for a malformed scope), and tokens the registry can verify (RS256 over the certificate in x5c).
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { X509Certificate, createVerify } from 'node:crypto';
import { tempDir } from '../../helpers/home.js';
import { TokenSigner, ensureSigningKey, parseScopes, REGISTRY_ISSUER, REGISTRY_TOKEN_SECONDS } from '../../../hub/registry-token.js';
import { registryConfig } from '../../../hub/registry.js';

const home = tempDir('dlhub-hub-signer-');
afterAll(() => home.remove());

describe('parseScopes', () => {
  it('reads one scope, several, and several space-separated in one parameter', () => {
    expect(parseScopes('repository:alice/model:pull,push')).toEqual([{ type: 'repository', name: 'alice/model', actions: ['pull', 'push'] }]);
    expect(parseScopes(['repository:a/b:pull', 'repository:c/d:push'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'repository', name: 'c/d', actions: ['push'] },
    ]);
    expect(parseScopes('repository:a/b:pull registry:catalog:*')).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(parseScopes(undefined)).toEqual([]);
  });

  it('drops what is not type:name:actions', () => {
    expect(parseScopes(['', 'repository', 'repository:a/b', ':a:b'])).toEqual([]);
  });

  it('never throws, and every scope it answers has a type, a name and no empty action', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 5 })), (input) => {
      for (const s of parseScopes(input)) {
        expect(s.type.length).toBeGreaterThan(0);
        expect(s.name.length).toBeGreaterThan(0);
        expect(s.actions.every((a) => a.length > 0 && !a.includes(','))).toBe(true);
      }
    }));
  });
});

describe('TokenSigner', () => {
  it('signs RS256 tokens that verify with the certificate it puts in x5c, with the spec\'s claims', () => {
    const files = ensureSigningKey(home.path);
    expect(ensureSigningKey(home.path)).toEqual(files);
    const now = Date.UTC(2026, 0, 1);
    const token = new TokenSigner(files).sign('alice', 'dlhub-registry', [{ type: 'repository', name: 'alice/m', actions: ['pull'] }], now);
    const [h, c, sig] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; x5c: string[] };
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
    expect(header.alg).toBe('RS256');
    const cert = new X509Certificate(Buffer.from(header.x5c[0] as string, 'base64'));
    expect(createVerify('RSA-SHA256').update(`${h}.${c}`).verify(cert.publicKey, Buffer.from(sig, 'base64url'))).toBe(true);
    expect(claims).toMatchObject({ iss: REGISTRY_ISSUER, sub: 'alice', aud: 'dlhub-registry', iat: now / 1000, exp: now / 1000 + REGISTRY_TOKEN_SECONDS, access: [{ type: 'repository', name: 'alice/m', actions: ['pull'] }] });
    expect(createVerify('RSA-SHA256').update(`${h}.${c}x`).verify(cert.publicKey, Buffer.from(sig, 'base64url'))).toBe(false);
  });

  it('writes the registry configuration for token auth with the hub as realm', () => {
    const yml = registryConfig({ address: '127.0.0.1:5000', dataDir: '/d', hubUrl: 'http://127.0.0.1:8770', certFile: '/c.crt' });
    expect(yml).toContain('realm: http://127.0.0.1:8770/v1/registry/token');
    expect(yml).toContain('rootcertbundle: /c.crt');
    expect(yml).toContain('addr: 127.0.0.1:5000');
  });
});
